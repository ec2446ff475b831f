"""Every file pydicom ships is processed, or refused with a specific reason.

The expectation comes from pydicom itself, not from a list: when pydicom reads a file, finds
a decoder for its transfer syntax and decodes the frame we show, ingest must accept it.
"""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.pixels import get_decoder, pixel_array

from imaging.dicom.errors import ErrorCode, FileError
from imaging.dicom.process import ProcessedFile, process_file
from tests.imaging.dicom.helpers import CORPUS_CATEGORIES, SECRET, all_test_files, short_name

CORPUS = all_test_files()
DECODE_FAILURES = {ErrorCode.UNDECODABLE_PIXELS, ErrorCode.TRUNCATED, ErrorCode.CORRUPT}


def pydicom_verdict(path: Path) -> str:
    """What pydicom alone makes of the file: 'decodes', 'no decoder', 'decoder fails', ..."""
    try:
        ds = pydicom.dcmread(path)
    except Exception:
        return "unreadable"
    if "PixelData" not in ds:
        return "no pixel data"
    syntax = ds.file_meta.get("TransferSyntaxUID")
    if syntax is None:
        return "no transfer syntax"
    try:
        if not get_decoder(syntax).is_available:
            return "no decoder"
    except NotImplementedError:
        return "no decoder"
    try:
        frames = int(ds.get("NumberOfFrames") or 1)
        pixel_array(ds, index=frames // 2 if frames > 1 else None)
    except Exception:
        return "decoder fails"
    return "decodes"


def test_the_corpus_is_the_installed_one():
    assert len(CORPUS) > 200, "pydicom and pydicom-data test files are installed"
    assert any("data_store" in p.parts for p in CORPUS), "pydicom-data's files are included"


@pytest.mark.parametrize("path", CORPUS, ids=short_name)
def test_file_is_processed_or_refused_with_a_specific_reason(path: Path, out_dir: Path):
    # Decoding is what this test checks; the burned-in text policy has tests of its own.
    result = process_file(
        path, secret=SECRET, out_dir=out_dir, name=short_name(path), allow_burned_in=True
    )
    category = "processed" if isinstance(result, ProcessedFile) else str(result.code)
    CORPUS_CATEGORIES[category].append(short_name(path))

    if isinstance(result, FileError):
        assert result.code != ErrorCode.INTERNAL, result.message
        assert result.message
    verdict = pydicom_verdict(path)
    if verdict == "decodes":
        assert isinstance(result, ProcessedFile), result.message
        assert Path(result.path).is_file()
        assert result.thumbnail_png.startswith(b"\x89PNG\r\n\x1a\n")
    elif verdict == "decoder fails":
        assert isinstance(result, FileError) and result.code in DECODE_FAILURES, result
    elif verdict == "no decoder":
        assert result.code == ErrorCode.UNSUPPORTED_TRANSFER_SYNTAX
    elif verdict == "no pixel data":
        assert isinstance(result, FileError)
        assert result.code in {ErrorCode.NO_PIXEL_DATA, ErrorCode.TRUNCATED}
    elif verdict == "unreadable":
        assert isinstance(result, FileError)
        assert result.code in {
            ErrorCode.NOT_DICOM,
            ErrorCode.MISSING_FILE_META,
            ErrorCode.TRUNCATED,
            ErrorCode.CORRUPT,
        }
    else:
        assert isinstance(result, FileError)
