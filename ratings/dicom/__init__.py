"""Pure DICOM processing for ingest: sources, de-identification, pixels, thumbnails (no Django)."""
