"""Display values: modality LUT, VOI, MONOCHROME1 inversion, signed data, frames, colour."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import apply_modality_lut, apply_voi_lut
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from imaging.dicom.pixels import display_frames, read_geometry
from imaging.dicom.process import ProcessedFile, process_file
from imaging.dicom.thumbnail import make_thumbnail
from tests.imaging.dicom.helpers import SECRET, all_test_files, encode, read, short_name


def monochrome1_files() -> list:
    """pydicom's MONOCHROME1 files, found by reading headers rather than named by hand.

    Compressed copies of the same images are left out: inversion does not depend on the
    transfer syntax, and decoding large JPEG 2000 files three times costs seconds.
    """
    found = []
    for path in all_test_files():
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except Exception:
            continue
        syntax = ds.file_meta.get("TransferSyntaxUID")
        compressed = syntax is None or syntax.is_compressed
        if ds.get("PhotometricInterpretation") == "MONOCHROME1" and not compressed:
            found.append(path)
    return found


MONOCHROME1 = monochrome1_files()


def linear_window(hu: np.ndarray, center: float, width: float) -> np.ndarray:
    """PS3.3 C.11.2.1.2.1 (LINEAR), scaled to 0..255."""
    unit = np.clip((hu - (center - 0.5)) / (width - 1) + 0.5, 0, 1)
    return np.rint(unit * 255).astype(np.uint8)


def synthetic(values: np.ndarray, **attributes) -> Dataset:
    """A minimal secondary-capture image holding `values` (uint16 or int16)."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.Rows, ds.Columns = values.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1 if values.dtype == np.int16 else 0
    ds.PixelData = values.tobytes()
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    return pydicom.dcmread(io.BytesIO(encode(ds)))


def test_there_are_monochrome1_files_to_check():
    assert len(MONOCHROME1) >= 4, [short_name(p) for p in MONOCHROME1]


@pytest.mark.parametrize("path", MONOCHROME1, ids=short_name)
def test_monochrome1_displays_inverted_relative_to_stored_values(path):
    ds = pydicom.dcmread(path)
    shown = display_frames(ds, frame_index=0).pixels.astype(int)
    as_mono2 = pydicom.dcmread(path)
    as_mono2.PhotometricInterpretation = "MONOCHROME2"
    plain = display_frames(as_mono2, frame_index=0).pixels.astype(int)
    assert np.abs(shown + plain - 255).max() <= 1
    # The highest stored value (most attenuation in MONOCHROME1) is displayed darkest.
    stored = ds.pixel_array
    brightest_stored, darkest_stored = (
        np.unravel_index(stored.argmax(), stored.shape),
        (np.unravel_index(stored.argmin(), stored.shape)),
    )
    assert shown[brightest_stored] <= shown[darkest_stored]


def test_ct_rescale_to_hounsfield_units_is_applied_before_the_window():
    ds = read("CT_small.dcm")  # signed 16-bit, RescaleIntercept -1024
    ds.WindowCenter, ds.WindowWidth = 40, 400  # soft-tissue window, in HU
    hu = apply_modality_lut(ds.pixel_array, ds)
    shown = display_frames(ds, frame_index=0).pixels
    assert np.array_equal(shown, linear_window(hu, 40, 400))
    # Stored values never go below 128, HU do: air and fat must be black, not white.
    assert ds.pixel_array.min() > 0 and (shown[hu <= -160] == 0).all()
    assert (shown[hu >= 240] == 255).all()


def test_signed_stored_values_and_slope_are_respected():
    values = np.linspace(-1000, 1000, 64 * 64).astype(np.int16).reshape(64, 64)
    ds = synthetic(
        values, RescaleSlope=2, RescaleIntercept=-100, WindowCenter=-100, WindowWidth=2001
    )
    geometry = read_geometry(ds)
    assert geometry.pixel_representation == 1
    shown = display_frames(ds, frame_index=0).pixels
    expected = linear_window(values.astype(np.float64) * 2 - 100, -100, 2001)
    assert np.abs(shown.astype(int) - expected).max() <= 1
    assert shown[0, 0] == 0 and shown[-1, -1] == 255 and shown[32, 0] in range(120, 136)


def test_modality_lut_sequence_and_voi_lut_sequence_use_pydicom():
    ds = read("mlut_18.dcm")  # signed stored values through a Modality LUT Sequence
    out = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
    low, high = np.percentile(out, (0.5, 99.5))
    expected = np.rint(np.clip((out - low) / (high - low), 0, 1) * 255)
    assert np.abs(display_frames(ds, frame_index=0).pixels - expected).max() <= 1

    ds = read("vlut_04.dcm")  # VOI LUT Sequence, no window
    lut = np.asarray(ds.VOILUTSequence[0].LUTData, dtype=np.float64)
    voi = apply_voi_lut(ds.pixel_array, ds).astype(np.float64)
    expected = np.rint((voi - lut.min()) / (lut.max() - lut.min()) * 255)
    assert np.abs(display_frames(ds, frame_index=0).pixels - expected).max() <= 1


def test_without_a_window_robust_percentiles_set_black_and_white():
    values = np.arange(100 * 100, dtype=np.uint16).reshape(100, 100)
    values[0, :5] = 60000  # a few hot pixels must not squash the rest to black
    shown = display_frames(synthetic(values), frame_index=0).pixels
    assert shown.min() == 0 and shown.max() == 255
    assert (shown == 0).mean() <= 0.01 and (shown == 255).mean() <= 0.01
    assert 100 < shown[50, 50] < 156  # the median value is mid-grey


def test_multi_frame_gives_every_frame_and_the_thumbnail_shows_the_middle_one(out_dir):
    ds = read("emri_small.dcm")  # 10 frames of 64 x 64
    frames = display_frames(ds)
    assert frames.pixels.shape == (10, 64, 64) and frames.geometry.frames == 10
    middle = display_frames(read("emri_small.dcm"), frame_index=5).pixels
    assert np.array_equal(middle, frames.pixels[5])
    result = process_file(encode(ds), secret=SECRET, out_dir=out_dir)
    assert isinstance(result, ProcessedFile) and result.n_frames == 10
    thumb = np.asarray(Image.open(io.BytesIO(result.thumbnail_png)))
    assert np.array_equal(thumb, middle)


def test_rgb_is_shown_as_stored():
    ds = read("US1_UNCR.dcm")
    shown = display_frames(ds, frame_index=0).pixels
    assert shown.shape == (480, 640, 3) and shown.dtype == np.uint8
    assert np.array_equal(shown, ds.pixel_array)


@pytest.mark.parametrize(
    ("name", "tolerance"),
    [
        ("SC_ybr_full_uncompressed.dcm", 2),  # YBR_FULL -> RGB
        ("SC_ybr_full_422_uncompressed.dcm", 2),  # YBR_FULL_422 -> RGB
        ("SC_rgb_16bit.dcm", 1),  # 16-bit samples scaled to 8 bits
        ("SC_rgb_jpeg_dcmtk.dcm", 6),  # lossy JPEG in YBR_FULL
        ("SC_rgb_rle_2frame.dcm", 0),
    ],
)
def test_colour_variants_match_the_reference_rgb_image(name, tolerance):
    reference = display_frames(read("SC_rgb.dcm"), frame_index=0).pixels.astype(int)
    shown = display_frames(read(name), frame_index=0).pixels
    assert shown.shape == (100, 100, 3) and shown.dtype == np.uint8
    assert np.abs(shown.astype(int) - reference).mean() <= tolerance


def test_palette_colour_becomes_rgb():
    shown = display_frames(read("OBXXXX1A.dcm"), frame_index=0).pixels
    assert shown.shape == (600, 800, 3)
    assert (shown[..., 0] != shown[..., 1]).any(), "a palette image has colour"


def test_shrinking_before_the_window_matches_the_full_size_display():
    ds = read("RG1_UNCI.dcm")
    full = display_frames(ds, frame_index=0).pixels
    small = display_frames(ds, frame_index=0, max_side=256).pixels
    f = full.shape[0] // small.shape[0]
    reference = full[: small.shape[0] * f, : small.shape[1] * f].reshape(
        small.shape[0], f, small.shape[1], f
    )
    assert np.abs(small.astype(float) - reference.mean(axis=(1, 3))).mean() < 1.0


def test_thumbnail_bounds_the_longest_side_and_keeps_the_aspect():
    display = np.zeros((1955, 1841), np.uint8)
    thumb = make_thumbnail(display, max_side=256)
    assert (thumb.width, thumb.height) == (241, 256)
    assert Image.open(io.BytesIO(thumb.png)).size == (241, 256)
    # Non-square pixels (row spacing twice the column spacing) are shown at true shape.
    wide = make_thumbnail(np.zeros((100, 200), np.uint8), max_side=256, pixel_aspect=2.0)
    assert (wide.width, wide.height) == (200, 200)
