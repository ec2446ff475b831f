"""Each kind of bad input file is refused with its own reason code and a readable message."""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.encaps import encapsulate, generate_frames
from pydicom.pixels import get_decoder

from imaging.dicom.batch import process_sources
from imaging.dicom.errors import ErrorCode, FileError
from imaging.dicom.process import ProcessedFile, process_file
from imaging.dicom.sources import iter_sources
from tests.imaging.dicom.helpers import SECRET, data_file, encode, read


def refused(source, out_dir: Path, **options) -> FileError:
    result = process_file(source, secret=SECRET, out_dir=out_dir, **options)
    assert isinstance(result, FileError), "expected a refusal"
    assert result.message and result.name
    assert not list(out_dir.rglob("*")) or all(p.is_dir() for p in out_dir.rglob("*")), (
        "nothing is written for a refused file"
    )
    return result


def test_a_text_file_is_not_dicom(out_dir):
    assert refused(b"Dear colleague, please find the images attached." * 10, out_dir).code == (
        ErrorCode.NOT_DICOM
    )


def test_a_png_is_not_dicom(out_dir, tmp_path):
    png = tmp_path / "photo.dcm"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 300)
    error = refused(png, out_dir)
    assert error.code == ErrorCode.NOT_DICOM and error.name == "photo.dcm"


def test_a_dataset_without_the_part10_header_is_named_as_such(out_dir):
    assert refused(data_file("ExplVR_LitEndNoMeta.dcm"), out_dir).code == (
        ErrorCode.MISSING_FILE_META
    )


@pytest.mark.parametrize("cut", [200, 500, 1000, 20_000, -1])
def test_a_truncated_file_is_truncated_wherever_it_is_cut(out_dir, cut):
    data = data_file("CT_small.dcm").read_bytes()
    assert refused(data[:cut], out_dir).code == ErrorCode.TRUNCATED


def test_truncated_encapsulated_pixel_data_is_truncated(out_dir):
    data = data_file("JPEG2000.dcm").read_bytes()
    assert refused(data[:-1], out_dir).code == ErrorCode.TRUNCATED


def test_a_file_without_pixel_data_is_refused(out_dir):
    ds = read("CT_small.dcm")
    del ds.PixelData
    assert refused(encode(ds), out_dir).code == ErrorCode.NO_PIXEL_DATA
    report = refused(data_file("test-SR.dcm"), out_dir)
    assert report.code == ErrorCode.NO_PIXEL_DATA and "SR" in report.detail


@pytest.mark.parametrize(
    "syntax",
    [
        "1.2.840.10008.1.2.4.100",  # MPEG2: known to pydicom, no decoder exists
        "1.2.840.10008.1.2.4.92",  # JPEG 2000 Part 2: no installed plugin
        "1.2.999.1234.5",  # a private transfer syntax
    ],
)
def test_an_undecodable_transfer_syntax_is_unsupported(out_dir, syntax):
    try:
        decodable = get_decoder(syntax).is_available
    except NotImplementedError:
        decodable = False
    assert not decodable, "the expectation comes from pydicom"
    ds = read("JPEG2000.dcm")  # encapsulated pixel data, relabelled
    ds.file_meta.TransferSyntaxUID = syntax
    error = refused(encode(ds), out_dir)
    assert error.code == ErrorCode.UNSUPPORTED_TRANSFER_SYNTAX and syntax in error.detail


def test_damaged_compressed_pixel_data_is_undecodable(out_dir):
    ds = read("JPEG2000.dcm")
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    ds.PixelData = encapsulate([b"\x00" * len(frame)])
    assert refused(encode(ds), out_dir).code == ErrorCode.UNDECODABLE_PIXELS


def test_missing_transfer_syntax_is_corrupt(out_dir):
    assert refused(data_file("meta_missing_tsyntax.dcm"), out_dir).code == ErrorCode.CORRUPT


def test_an_unknown_colour_model_is_unsupported(out_dir):
    ds = read("CT_small.dcm")
    ds.PhotometricInterpretation = "HSV"
    assert refused(encode(ds), out_dir).code == ErrorCode.UNSUPPORTED_PHOTOMETRIC


def test_burned_in_annotation_is_refused_unless_allowed(out_dir):
    ds = read("CT_small.dcm")
    ds.BurnedInAnnotation = "YES"
    assert refused(encode(ds), out_dir).code == ErrorCode.BURNED_IN_ANNOTATION
    allowed = process_file(encode(ds), secret=SECRET, out_dir=out_dir, allow_burned_in=True)
    assert isinstance(allowed, ProcessedFile)


def test_a_missing_file_is_unreadable(out_dir, tmp_path):
    assert refused(tmp_path / "gone.dcm", out_dir).code == ErrorCode.UNREADABLE


def test_the_same_instance_twice_in_a_batch_is_a_duplicate(out_dir, tmp_path):
    folder = tmp_path / "upload"
    (folder / "again").mkdir(parents=True)
    shutil.copy(data_file("CT_small.dcm"), folder / "a.dcm")
    shutil.copy(data_file("CT_small.dcm"), folder / "again" / "b.dcm")
    shutil.copy(data_file("MR_small.dcm"), folder / "c.dcm")
    results = list(process_sources(iter_sources([folder]), secret=SECRET, out_dir=out_dir))
    processed = [r for r in results if isinstance(r, ProcessedFile)]
    errors = [r for r in results if isinstance(r, FileError)]
    assert sorted(p.name for p in processed) == ["upload/a.dcm", "upload/c.dcm"]
    assert [(e.name, e.code) for e in errors] == [("upload/again/b.dcm", ErrorCode.DUPLICATE)]
    assert "upload/a.dcm" in errors[0].message
    assert len(list(out_dir.rglob("*.dcm"))) == 2


def test_a_different_file_with_the_same_instance_uid_is_a_duplicate(out_dir):
    # pydicom ships MR_small twice: native and RLE, with one SOP Instance UID.
    first = process_file(data_file("MR_small.dcm"), secret=SECRET, out_dir=out_dir)
    assert isinstance(first, ProcessedFile)
    second = process_file(data_file("MR_small_RLE.dcm"), secret=SECRET, out_dir=out_dir)
    assert isinstance(second, FileError) and second.code == ErrorCode.DUPLICATE
    assert pydicom.dcmread(first.path).file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"


@pytest.mark.parametrize(
    ("name", "declared", "expected_refused"),
    [
        ("US1_J2KR.dcm", None, True),  # ultrasound: text in the pixels is common
        ("SC_rgb.dcm", None, True),  # secondary capture: a screenshot may show anything
        ("US1_J2KR.dcm", "NO", False),  # the file itself says its pixels are clean
        ("CT_small.dcm", None, False),  # CT without the attribute: the usual case
    ],
)
def test_images_likely_to_carry_burned_in_text_are_refused_by_default(
    out_dir, name, declared, expected_refused
):
    ds = read(name)
    if declared is not None:
        ds.BurnedInAnnotation = declared
    result = process_file(encode(ds), secret=SECRET, out_dir=out_dir)
    if expected_refused:
        assert isinstance(result, FileError) and result.code == ErrorCode.BURNED_IN_ANNOTATION
        assert "pixels" in result.message
        allowed = process_file(encode(ds), secret=SECRET, out_dir=out_dir, allow_burned_in=True)
        assert isinstance(allowed, ProcessedFile)
    else:
        assert isinstance(result, ProcessedFile)
