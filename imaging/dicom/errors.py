"""Reason codes and human messages for input files that ingest refuses."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ErrorCode(enum.StrEnum):
    """Why one input file was not ingested (stable strings: stored and shown in reports)."""

    UNREADABLE = "unreadable"
    NOT_DICOM = "not_dicom"
    MISSING_FILE_META = "missing_file_meta"
    TRUNCATED = "truncated"
    CORRUPT = "corrupt"
    NO_PIXEL_DATA = "no_pixel_data"
    UNSUPPORTED_TRANSFER_SYNTAX = "unsupported_transfer_syntax"
    UNDECODABLE_PIXELS = "undecodable_pixels"
    UNSUPPORTED_PHOTOMETRIC = "unsupported_photometric"
    IMAGE_TOO_LARGE = "image_too_large"
    BURNED_IN_ANNOTATION = "burned_in_annotation"
    DUPLICATE = "duplicate"
    ZIP_CORRUPT = "zip_corrupt"
    ZIP_UNSAFE_PATH = "zip_unsafe_path"
    ZIP_TOO_LARGE = "zip_too_large"
    ZIP_ENCRYPTED = "zip_encrypted"
    ZIP_NESTED = "zip_nested"
    ZIP_EMPTY = "zip_empty"
    INTERNAL = "internal"


MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.UNREADABLE: "The file could not be read (missing, or no permission).",
    ErrorCode.NOT_DICOM: "Not a DICOM file.",
    ErrorCode.MISSING_FILE_META: (
        "DICOM data without the DICOM file header (preamble, 'DICM' and file meta "
        "information); export it again as a DICOM Part 10 file."
    ),
    ErrorCode.TRUNCATED: "The file ends early: it is truncated (incomplete copy or download).",
    ErrorCode.CORRUPT: "The DICOM file is damaged or lacks attributes needed to read the image.",
    ErrorCode.NO_PIXEL_DATA: "The DICOM file holds no image (no pixel data).",
    ErrorCode.UNSUPPORTED_TRANSFER_SYNTAX: (
        "The image is encoded with a transfer syntax that no installed decoder handles."
    ),
    ErrorCode.UNDECODABLE_PIXELS: "The image data could not be decoded.",
    ErrorCode.UNSUPPORTED_PHOTOMETRIC: "The image uses a colour model that cannot be displayed.",
    ErrorCode.IMAGE_TOO_LARGE: (
        "The image declares a frame larger than the platform decodes (or than its data "
        "holds): a damaged header, or an image to split or downsample first."
    ),
    ErrorCode.BURNED_IN_ANNOTATION: (
        "The image may carry text burned into its pixels that could identify the patient "
        "(de-identification cleans the header, not the pixels). Check the images, then "
        "import them with burned-in images allowed."
    ),
    ErrorCode.DUPLICATE: "The same image (SOP Instance UID) was already imported.",
    ErrorCode.ZIP_CORRUPT: "The zip archive, or an entry of it, is damaged.",
    ErrorCode.ZIP_UNSAFE_PATH: "A zip entry has an unsafe path (absolute or with '..').",
    ErrorCode.ZIP_TOO_LARGE: (
        "The zip archive would unpack to more data than allowed (possible zip bomb)."
    ),
    ErrorCode.ZIP_ENCRYPTED: "The zip entry is encrypted (password-protected).",
    ErrorCode.ZIP_NESTED: "A zip inside a zip is not unpacked; extract it first.",
    ErrorCode.ZIP_EMPTY: "The zip archive holds no files to import.",
    ErrorCode.INTERNAL: "Unexpected error while processing the file.",
}


@dataclass(frozen=True, slots=True)
class FileError:
    """One refused input: where it came from, a reason code, and what to tell the user."""

    name: str
    code: ErrorCode
    detail: str = ""

    @property
    def message(self) -> str:
        """The human sentence for the code, followed by the technical detail if any."""
        base = MESSAGES[self.code]
        return f"{base} ({self.detail})" if self.detail else base


class IngestError(Exception):
    """Raised inside the processing layer to abort one file with a reason; never escapes it."""

    def __init__(self, code: ErrorCode, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
