"""What the DICOM fuzz corpus found (issue 12): each case refused with a reason, cheaply.

Before: a pixel data length of 0xFFFFFFF0 allocated 4 GiB for a 40 KB file; Rows = Columns =
65535 over a few bytes of RLE data decoded for 100 s into 12 GB; a flipped bit in a VR, a
stray sequence delimiter or a missing SOP Class UID ended as `internal`; an empty zip had no
outcome at all.
"""

from __future__ import annotations

import struct
import tracemalloc
import zipfile

from imaging.dicom.errors import ErrorCode
from imaging.dicom.sources import iter_sources
from tests.imaging.dicom.fuzz_corpus import PIXEL_DATA_TAG, SEQ_END, _explicit_le
from tests.imaging.dicom.helpers import encode, read
from tests.imaging.dicom.test_bad_inputs import refused


def _peak_of(call):
    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_lying_pixel_data_length_costs_no_memory(out_dir, tmp_path):
    base = _explicit_le("CT_small.dcm")
    at = base.find(PIXEL_DATA_TAG) + 8
    path = tmp_path / "lie.dcm"
    path.write_bytes(base[:at] + struct.pack("<I", 0xFFFFFFF0) + base[at + 4 :])
    error, peak = _peak_of(lambda: refused(path, out_dir))
    assert error.code == ErrorCode.TRUNCATED
    assert peak < 50 * 1024**2, f"{peak / 1024**2:.0f} MB for a {len(base)} byte file"


def test_a_frame_of_65535_by_65535_is_too_large_before_any_decoding(out_dir):
    ds = read("SC_rgb_rle.dcm")
    ds.Rows = ds.Columns = 65535
    error, peak = _peak_of(lambda: refused(encode(ds), out_dir, allow_burned_in=True))
    assert error.code == ErrorCode.IMAGE_TOO_LARGE
    assert "65535 x 65535" in error.message
    assert peak < 50 * 1024**2


def test_an_unknown_vr_is_corrupt_not_internal(out_dir):
    base = _explicit_le("MR_small.dcm")
    at = base.find(b"\x10\x00\x30\x00DA")  # Patient's Birth Date, explicit VR
    assert at > 0
    flipped = base[: at + 4] + b"D\xc1" + base[at + 6 :]
    error = refused(flipped, out_dir)
    assert error.code == ErrorCode.CORRUPT and "Unknown Value Representation" in error.detail


def test_a_stray_sequence_delimiter_is_corrupt_not_internal(out_dir):
    base = _explicit_le("CT_small.dcm")
    pixel = base.find(PIXEL_DATA_TAG)
    assert refused(base[:pixel] + SEQ_END + base[pixel:], out_dir).code == ErrorCode.CORRUPT


def test_an_image_without_a_sop_class_is_corrupt_not_internal(out_dir):
    ds = read("CT_small.dcm")
    del ds.SOPClassUID
    error = refused(encode(ds), out_dir)
    assert (error.code, error.detail) == (ErrorCode.CORRUPT, "no SOP Class UID")


def test_an_empty_zip_is_reported(tmp_path):
    for name, entries in (("empty.zip", []), ("dirs.zip", ["a/", "a/b/"])):
        with zipfile.ZipFile(tmp_path / name, "w") as archive:
            for entry in entries:
                archive.writestr(entry, b"")
        (error,) = list(iter_sources([tmp_path / name]))
        assert error.code == ErrorCode.ZIP_EMPTY
