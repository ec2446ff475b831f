"""Decode DICOM pixel data once and map it to 8-bit display values (modality LUT, VOI, colour)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut, get_decoder
from pydicom.pixels import pixel_array as decode_pixels
from pydicom.uid import UID

from imaging.dicom.errors import ErrorCode, IngestError

MONOCHROME = frozenset({"MONOCHROME1", "MONOCHROME2"})
# What pydicom turns into RGB while decoding (as_rgb=True converts YBR_FULL*; the JPEG 2000
# decoders undo the ICT/RCT colour transforms themselves) plus the palette we apply here.
COLOUR = frozenset({"RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT", "PALETTE COLOR"})
SUPPORTED_PHOTOMETRIC = MONOCHROME | COLOUR
FALLBACK_PERCENTILES = (0.5, 99.5)
# One decoded frame at most this big: 8x the largest radiographs (a 4k x 5k 16-bit
# mammogram is 40 MB). A header declaring more (Rows = Columns = 65535 over a few bytes of
# data) would make the decoder allocate gigabytes before noticing the data is short.
MAX_FRAME_BYTES = 320 * 1024**2


@dataclass(frozen=True, slots=True)
class Geometry:
    """The pixel module facts the database and the viewer need."""

    rows: int
    columns: int
    frames: int
    samples_per_pixel: int
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    photometric: str
    transfer_syntax_uid: str
    # Physical height / width of one pixel (1.0 when square or unknown).
    pixel_aspect: float = 1.0


class DisplayFrames(NamedTuple):
    """uint8 display values: (frames, rows, cols[, 3]), or (rows, cols[, 3]) for one frame."""

    pixels: np.ndarray
    geometry: Geometry


def read_geometry(ds: Dataset) -> Geometry:
    """Pixel geometry of `ds`; raises IngestError when the image cannot be decoded at all."""
    if "PixelData" not in ds:
        if "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
            raise IngestError(ErrorCode.UNSUPPORTED_PHOTOMETRIC, "float pixel data")
        raise IngestError(ErrorCode.NO_PIXEL_DATA, _sop_class_name(ds))
    meta = getattr(ds, "file_meta", None)
    ts = getattr(meta, "TransferSyntaxUID", None) if meta is not None else None
    if not ts:
        raise IngestError(ErrorCode.CORRUPT, "no Transfer Syntax UID in the file meta")
    try:
        photometric = str(ds.PhotometricInterpretation).strip().upper()
        geometry = Geometry(
            rows=int(ds.Rows),
            columns=int(ds.Columns),
            frames=int(ds.get("NumberOfFrames") or 1),
            samples_per_pixel=int(ds.get("SamplesPerPixel") or 1),
            bits_allocated=int(ds.BitsAllocated),
            bits_stored=int(ds.get("BitsStored") or ds.BitsAllocated),
            pixel_representation=int(ds.get("PixelRepresentation") or 0),
            photometric=photometric,
            transfer_syntax_uid=str(ts),
            pixel_aspect=_pixel_aspect(ds),
        )
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise IngestError(ErrorCode.CORRUPT, f"pixel module: {exc}") from exc
    if geometry.rows < 1 or geometry.columns < 1 or geometry.frames < 1:
        raise IngestError(ErrorCode.CORRUPT, "empty image dimensions")
    if photometric not in SUPPORTED_PHOTOMETRIC:
        raise IngestError(ErrorCode.UNSUPPORTED_PHOTOMETRIC, photometric or "missing")
    frame_bytes = (
        geometry.rows
        * geometry.columns
        * geometry.samples_per_pixel
        * max(math.ceil(geometry.bits_allocated / 8), 1)
    )
    if frame_bytes > MAX_FRAME_BYTES:
        raise IngestError(
            ErrorCode.IMAGE_TOO_LARGE,
            f"{geometry.rows} x {geometry.columns} x {geometry.samples_per_pixel} samples of "
            f"{geometry.bits_allocated} bits: {frame_bytes} bytes per frame "
            f"(limit {MAX_FRAME_BYTES})",
        )
    return geometry


def check_decoder(geometry: Geometry) -> None:
    """Raise UNSUPPORTED_TRANSFER_SYNTAX unless an installed plugin decodes this syntax."""
    uid = UID(geometry.transfer_syntax_uid)
    try:
        decoder = get_decoder(uid)
    except NotImplementedError as exc:
        name = uid.name if uid.is_transfer_syntax else "unknown"
        raise IngestError(ErrorCode.UNSUPPORTED_TRANSFER_SYNTAX, f"{uid} ({name})") from exc
    if not decoder.is_available:
        raise IngestError(
            ErrorCode.UNSUPPORTED_TRANSFER_SYNTAX, f"{uid.name}: no decoder plugin installed"
        )


def check_native_length(ds: Dataset, geometry: Geometry) -> None:
    """Uncompressed pixel data must hold every frame; a short one means a truncated copy."""
    if _is_compressed(geometry.transfer_syntax_uid):
        return
    samples = geometry.rows * geometry.columns * geometry.samples_per_pixel * geometry.frames
    if geometry.photometric == "YBR_FULL_422":
        samples = samples * 2 // 3  # 4:2:2 stores two chroma samples per two pixels
    expected = math.ceil(samples * geometry.bits_allocated / 8)
    actual = len(ds.PixelData)
    if actual < expected:
        raise IngestError(ErrorCode.TRUNCATED, f"pixel data {actual} of {expected} bytes")


def _is_compressed(syntax: str) -> bool:
    try:
        return UID(syntax).is_compressed
    except ValueError:  # unknown to pydicom: treat as encoded, never as raw samples
        return True


def middle_frame(geometry: Geometry) -> int:
    """The frame shown as the thumbnail of a multi-frame image."""
    return geometry.frames // 2


def decode_frame(ds: Dataset, geometry: Geometry, index: int) -> np.ndarray:
    """Decode one frame, shape (rows, cols) or (rows, cols, 3); errors become IngestError."""
    # Single-frame images are decoded whole: pydicom's index path is for multi-frame data.
    return _decode(ds, geometry, index if geometry.frames > 1 else None)


def decode_all(ds: Dataset, geometry: Geometry) -> np.ndarray:
    """Decode every frame, shape (frames, rows, cols[, 3]); errors become IngestError."""
    arr = _decode(ds, geometry, None)
    return arr[np.newaxis] if geometry.frames == 1 else arr


def _decode(ds: Dataset, geometry: Geometry, index: int | None) -> np.ndarray:
    check_decoder(geometry)
    check_native_length(ds, geometry)
    try:
        return decode_pixels(ds, index=index)
    except Exception as exc:  # decoders raise many types; classify, never propagate
        text = " | ".join(f"{type(exc).__name__}: {exc}".split("\n"))[:400]
        if "less than expected" in text or "truncated" in text.lower():
            raise IngestError(ErrorCode.TRUNCATED, text) from exc
        compressed = _is_compressed(geometry.transfer_syntax_uid)
        code = ErrorCode.UNDECODABLE_PIXELS if compressed else ErrorCode.CORRUPT
        raise IngestError(code, text) from exc


def display_frames(
    ds: Dataset, *, frame_index: int | None = None, max_side: int | None = None
) -> DisplayFrames:
    """Decode and map to uint8 display values.

    frame_index=None gives every frame, shape (frames, rows, cols[, 3]); an index gives
    that frame alone, shape (rows, cols[, 3]). max_side shrinks before windowing (cheap
    thumbnails): the result's longest side is then at most about 2 * max_side.
    """
    geometry = read_geometry(ds)
    if frame_index is not None:
        frame = decode_frame(ds, geometry, frame_index)
        return DisplayFrames(to_display(frame, ds, geometry, frame_index, max_side), geometry)
    raw = decode_all(ds, geometry)
    frames = [to_display(raw[i], ds, geometry, i, max_side) for i in range(raw.shape[0])]
    return DisplayFrames(np.stack(frames), geometry)


def to_display(
    frame: np.ndarray, ds: Dataset, geometry: Geometry, index: int, max_side: int | None = None
) -> np.ndarray:
    """One decoded frame (as pydicom returns it) to uint8 display values."""
    if geometry.photometric == "PALETTE COLOR":
        frame = _shrink_nearest(frame, max_side)
        rgb = apply_color_lut(frame, ds)
        return _to_uint8_rgb(rgb, 16 if rgb.dtype.itemsize > 1 else 8)
    if geometry.samples_per_pixel == 3 or frame.ndim == 3:
        return _to_uint8_rgb(_shrink_mean(frame, max_side), geometry.bits_stored)
    return _monochrome(frame, ds, geometry, index, max_side)


def _monochrome(
    frame: np.ndarray, ds: Dataset, geometry: Geometry, index: int, max_side: int | None
) -> np.ndarray:
    has_modality_lut = "ModalityLUTSequence" in ds
    has_voi_lut = "VOILUTSequence" in ds
    # LUTs index by stored value, so a shrunken frame must keep real stored values.
    if has_modality_lut or has_voi_lut:
        values = _shrink_nearest(frame, max_side)
    else:
        values = _shrink_mean(frame, max_side)
    if has_modality_lut:
        values = apply_modality_lut(values, ds)
    else:
        slope, intercept = _rescale(ds, index)
        values = values.astype(np.float32, copy=False)
        if slope != 1.0 or intercept != 0.0:
            values = values * np.float32(slope) + np.float32(intercept)
    window = _window(ds, index)
    if window is not None:
        unit = _apply_window(values, *window)
    elif has_voi_lut:
        lut_out = apply_voi_lut(values.astype(np.int64), ds, prefer_lut=True)
        unit = _normalise(lut_out, *_lut_range(ds))
    else:
        low, high = np.percentile(values, FALLBACK_PERCENTILES)
        unit = _normalise(values, float(low), float(high))
    if geometry.photometric == "MONOCHROME1":
        unit = 1.0 - unit  # MONOCHROME1: the lowest value is white (PS3.3 C.7.6.3.1.2)
    return np.rint(unit * 255.0).astype(np.uint8)


def _apply_window(values: np.ndarray, center: float, width: float, function: str) -> np.ndarray:
    """VOI window to [0, 1] (PS3.3 C.11.2.1.2: LINEAR, LINEAR_EXACT, SIGMOID)."""
    x = values.astype(np.float32, copy=False)
    if function == "SIGMOID":
        return 1.0 / (1.0 + np.exp(-4.0 * (x - center) / width))
    if function == "LINEAR_EXACT":
        return np.clip((x - center) / width + 0.5, 0.0, 1.0)
    if width <= 1.0:
        return (x > center - 0.5).astype(np.float32)
    return np.clip((x - (center - 0.5)) / (width - 1.0) + 0.5, 0.0, 1.0)


def _normalise(values: np.ndarray, low: float, high: float) -> np.ndarray:
    if not math.isfinite(low) or not math.isfinite(high) or high <= low:
        return np.zeros(values.shape, np.float32)
    return np.clip((values.astype(np.float32) - low) / (high - low), 0.0, 1.0)


def _to_uint8_rgb(rgb: np.ndarray, bits: int) -> np.ndarray:
    if rgb.dtype == np.uint8:
        return rgb
    top = float(2 ** min(max(bits, 1), 32) - 1)
    return np.rint(np.clip(rgb.astype(np.float32) * (255.0 / top), 0, 255)).astype(np.uint8)


def _shrink_factor(shape: tuple[int, ...], max_side: int | None) -> int:
    if not max_side:
        return 1
    return max(1, max(shape[0], shape[1]) // max_side)


def _shrink_mean(frame: np.ndarray, max_side: int | None) -> np.ndarray:
    """Area average over f x f blocks: a cheap, alias-free first step towards a thumbnail."""
    f = _shrink_factor(frame.shape, max_side)
    if f == 1:
        return frame
    rows, cols = frame.shape[0] // f * f, frame.shape[1] // f * f
    # Summing the f*f strided sub-grids is ~5x faster than a 4-D reshape().mean().
    total = np.zeros((rows // f, cols // f, *frame.shape[2:]), np.float32)
    for i in range(f):
        for j in range(f):
            total += frame[i:rows:f, j:cols:f]
    total *= np.float32(1.0 / (f * f))
    return total


def _shrink_nearest(frame: np.ndarray, max_side: int | None) -> np.ndarray:
    f = _shrink_factor(frame.shape, max_side)
    return frame if f == 1 else frame[::f, ::f]


def _functional_group_item(ds: Dataset, index: int, sequence: str) -> Dataset | None:
    """The per-frame, else shared, functional group item of an enhanced multi-frame image."""
    for groups_keyword, item_index in (
        ("PerFrameFunctionalGroupsSequence", index),
        ("SharedFunctionalGroupsSequence", 0),
    ):
        groups = ds.get(groups_keyword)
        if groups and item_index < len(groups):
            inner = groups[item_index].get(sequence)
            if inner:
                return inner[0]
    return None


def _rescale(ds: Dataset, index: int) -> tuple[float, float]:
    source: Dataset | None = ds
    if "RescaleSlope" not in ds and "RescaleIntercept" not in ds:
        source = _functional_group_item(ds, index, "PixelValueTransformationSequence")
    if source is None:
        return 1.0, 0.0
    try:
        slope = float(source.get("RescaleSlope", 1.0) or 1.0)
        intercept = float(source.get("RescaleIntercept", 0.0) or 0.0)
    except (TypeError, ValueError):
        return 1.0, 0.0
    return slope, intercept


def _window(ds: Dataset, index: int) -> tuple[float, float, str] | None:
    source: Dataset | None = ds
    if "WindowCenter" not in ds:
        source = _functional_group_item(ds, index, "FrameVOILUTSequence")
    if source is None or "WindowCenter" not in source or "WindowWidth" not in source:
        return None
    try:
        center = float(_first(source.WindowCenter))
        width = float(_first(source.WindowWidth))
    except (TypeError, ValueError, IndexError):
        return None
    if not math.isfinite(center) or not math.isfinite(width) or width <= 0:
        return None
    function = str(source.get("VOILUTFunction") or "LINEAR").strip().upper()
    return center, width, function


def _lut_range(ds: Dataset) -> tuple[float, float]:
    data = np.asarray(ds.VOILUTSequence[0].LUTData, dtype=np.float64)
    return float(data.min()), float(data.max())


def _first(value: object) -> object:
    if isinstance(value, str | bytes) or not hasattr(value, "__getitem__"):
        return value
    return value[0]


def _pixel_aspect(ds: Dataset) -> float:
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        spacing = ds.get(keyword)
        if spacing is not None and len(spacing) == 2:
            try:
                row, col = float(spacing[0]), float(spacing[1])
            except (TypeError, ValueError):
                continue
            if row > 0 and col > 0:
                return row / col
    ratio = ds.get("PixelAspectRatio")
    if ratio is not None and len(ratio) == 2:
        try:
            vertical, horizontal = float(ratio[0]), float(ratio[1])
        except (TypeError, ValueError):
            return 1.0
        if vertical > 0 and horizontal > 0:
            return vertical / horizontal
    return 1.0


def _sop_class_name(ds: Dataset) -> str:
    uid = ds.get("SOPClassUID")
    return UID(str(uid)).name if uid else "no SOP Class UID"
