"""Pure DICOM processing for ingest: sources, de-identification, pixels, thumbnails (no Django)."""

from pydicom import config as _pydicom_config

# Files arrive from anywhere, and many carry values their VR does not allow. pydicom would warn
# about each one it reads, quoting the value (an original UID, an identifier) to stderr and so
# to the worker's log. Ingest judges a file by what it can use and reports each file itself,
# and the de-identified file it writes is still validated (writing_validation_mode is untouched).
_pydicom_config.settings.reading_validation_mode = _pydicom_config.IGNORE
