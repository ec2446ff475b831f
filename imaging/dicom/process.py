"""Process one input file: read, check pixels, de-identify, write atomically, thumbnail."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import math
import os
import struct
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID

from imaging.dicom.deidentify import deidentify
from imaging.dicom.errors import ErrorCode, FileError, IngestError
from imaging.dicom.pixels import Geometry, decode_frame, middle_frame, read_geometry, to_display
from imaging.dicom.sources import Source
from imaging.dicom.thumbnail import DEFAULT_MAX_SIDE, make_thumbnail

SourceLike = Source | bytes | str | os.PathLike[str]


@dataclass(frozen=True, slots=True)
class ProcessedFile:
    """Everything the database needs about one ingested, de-identified instance (picklable)."""

    name: str  # display name of the input ("batch/a.dcm", "x.zip!dir/b.dcm")
    path: str  # absolute path of the de-identified file
    relative_path: str  # the same, relative to out_dir (posix): store this one
    sop_instance_uid: str  # replaced UIDs, 2.25.<HMAC>
    series_uid: str
    study_uid: str
    source_uid_hash: str  # keyed hash of the original SOP Instance UID
    sop_class_uid: str
    instance_number: int | None
    position: float  # sort key along the stack
    n_frames: int
    rows: int
    columns: int
    samples_per_pixel: int
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    photometric: str
    transfer_syntax: str  # Transfer Syntax UID
    modality: str
    manufacturer: str
    manufacturer_model_name: str
    body_part: str
    view_position: str
    patient_key: str
    patient_key_source: str
    site_key: str
    patient_sex: str
    age_band: str
    size_bytes: int
    sha256: str
    thumbnail_png: bytes
    thumbnail_width: int
    thumbnail_height: int
    # True when an identical file was already stored at `path` (a retried or repeated
    # import): the caller must not delete it when refusing the row as a duplicate.
    reused_existing: bool = False


# A full disk (or quota) where the files are written: no file can be stored, so the import
# stops with that reason instead of refusing every file after it as "internal".
STORAGE_FULL = (errno.ENOSPC, errno.EDQUOT)


def process_file(
    source: SourceLike,
    *,
    secret: bytes,
    out_dir: Path,
    name: str | None = None,
    thumbnail_side: int = DEFAULT_MAX_SIDE,
    allow_burned_in: bool = False,
    fsync: bool = True,
    reraise: tuple[type[BaseException], ...] = (),
) -> ProcessedFile | FileError:
    """Ingest one file; never raises for a bad file, returns a FileError with the reason.

    The de-identified file is written as out_dir/<last 2 digits>/<new SOP UID>.dcm through a
    temporary file and an atomic link, so a crash leaves either nothing or the whole file.
    Exceptions of the `reraise` types are not the file's fault (e.g. the caller's time limit
    signalled mid-file) and pass through.
    """
    display_name = name or _source_name(source)
    try:
        return _process(
            source,
            display_name,
            secret=secret,
            out_dir=Path(out_dir),
            thumbnail_side=thumbnail_side,
            allow_burned_in=allow_burned_in,
            fsync=fsync,
        )
    except IngestError as exc:
        return FileError(display_name, exc.code, exc.detail)
    except reraise:
        raise
    except OSError as exc:
        if exc.errno in STORAGE_FULL:  # the server's fault, and every next file's too: stop
            raise
        detail = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        return FileError(display_name, ErrorCode.INTERNAL, detail)
    except Exception as exc:  # one bad file must never stop a batch
        detail = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        return FileError(display_name, ErrorCode.INTERNAL, detail)


def _process(
    source: SourceLike,
    name: str,
    *,
    secret: bytes,
    out_dir: Path,
    thumbnail_side: int,
    allow_burned_in: bool,
    fsync: bool,
) -> ProcessedFile:
    with _open_source(source) as fh:
        _refuse_early(fh)
        ds = read_dataset(fh)
    geometry = read_geometry(ds)
    if not ds.get("SOPClassUID"):
        # Every stored image names its class; de-identification writes it into the new meta.
        raise IngestError(ErrorCode.CORRUPT, "no SOP Class UID")
    index = middle_frame(geometry)
    # The only decode: the thumbnail's frame; it also proves the pixel data decodes.
    frame = decode_frame(ds, geometry, index)
    if not allow_burned_in:
        _refuse_possible_burned_in_text(ds)
    display = to_display(frame, ds, geometry, index, max_side=thumbnail_side)
    thumb = make_thumbnail(display, max_side=thumbnail_side, pixel_aspect=geometry.pixel_aspect)
    facts = _facts(ds)
    try:
        keys = deidentify(ds, secret)
    except ValueError as exc:  # no SOP Instance UID: nothing can name the file
        raise IngestError(ErrorCode.CORRUPT, str(exc)) from exc
    encoded = _encode(ds)
    digest = hashlib.sha256(encoded).hexdigest()
    relative = Path(keys.sop_instance_uid[-2:]) / f"{keys.sop_instance_uid}.dcm"
    target = out_dir / relative
    reused = _store(encoded, digest, target, fsync=fsync)
    return ProcessedFile(
        name=name,
        path=str(target.resolve()),
        relative_path=relative.as_posix(),
        sop_instance_uid=keys.sop_instance_uid,
        series_uid=keys.series_uid,
        study_uid=keys.study_uid,
        source_uid_hash=keys.source_uid_hash,
        patient_key=keys.patient_key,
        patient_key_source=keys.patient_key_source,
        site_key=keys.site_key,
        patient_sex=keys.patient_sex,
        age_band=keys.age_band,
        n_frames=geometry.frames,
        rows=geometry.rows,
        columns=geometry.columns,
        samples_per_pixel=geometry.samples_per_pixel,
        bits_allocated=geometry.bits_allocated,
        bits_stored=geometry.bits_stored,
        pixel_representation=geometry.pixel_representation,
        photometric=geometry.photometric,
        transfer_syntax=geometry.transfer_syntax_uid,
        size_bytes=len(encoded),
        sha256=digest,
        thumbnail_png=thumb.png,
        thumbnail_width=thumb.width,
        thumbnail_height=thumb.height,
        reused_existing=reused,
        **facts,
    )


# Images of these kinds often carry text in their pixels (ultrasound headers, screen captures,
# photographs, scanned documents), which the Basic Profile does not clean: they are refused
# unless the file itself declares BurnedInAnnotation = NO or the importer allows them.
BURNED_IN_RISK_MODALITIES = frozenset({"US", "IVUS", "SC", "OT", "XC", "ES", "GM", "SM", "DOC"})
SECONDARY_CAPTURE_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.7"


def _refuse_possible_burned_in_text(ds: Dataset) -> None:
    declared = str(ds.get("BurnedInAnnotation", "")).strip().upper()
    if declared == "YES":
        raise IngestError(ErrorCode.BURNED_IN_ANNOTATION, "BurnedInAnnotation is YES")
    if declared == "NO":
        return
    modality = str(ds.get("Modality", "")).strip().upper()
    sop_class = str(ds.get("SOPClassUID", ""))
    if modality in BURNED_IN_RISK_MODALITIES or sop_class.startswith(
        SECONDARY_CAPTURE_CLASS_PREFIX
    ):
        raise IngestError(
            ErrorCode.BURNED_IN_ANNOTATION,
            f"modality {modality or 'unknown'} without BurnedInAnnotation = NO",
        )


def _source_name(source: SourceLike) -> str:
    if isinstance(source, Source):
        return source.name
    if isinstance(source, bytes):
        return "<bytes>"
    return Path(source).name


@contextlib.contextmanager
def _open_source(source: SourceLike) -> Iterator[BinaryIO]:
    if isinstance(source, Source):
        with source.open() as fh:
            yield fh
        return
    if isinstance(source, bytes):
        yield io.BytesIO(source)
        return
    try:
        fh = open(source, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise IngestError(ErrorCode.UNREADABLE, exc.strerror or str(exc)) from exc
    with fh:
        yield fh


# Enough of a bare dataset to find its SOP Class UID (group 0008 comes first); parsing a
# whole megabyte of junk as DICOM elements costs seconds, so never more than this.
CLASSIFY_BYTES = 16 * 1024


def _refuse_early(fh: BinaryIO) -> None:
    """Refuse what cannot be a DICOM Part 10 file from its first bytes, before parsing it.

    pydicom (force=False) reads only files with 'DICM' at byte 128, and a file meta group
    (0002,xxxx) must follow it (without one no transfer syntax is known and the file is
    refused anyway). Anything else is refused here as it always was, only sooner: as
    MISSING_FILE_META when its start parses as bare DICOM data with a SOP Class or Instance
    UID, else NOT_DICOM.
    """
    head = fh.read(CLASSIFY_BYTES)
    fh.seek(0)
    if head[128:132] != b"DICM":
        raise IngestError(*_classify_non_part10(head))
    if head[132:134] != b"\x02\x00":
        raise IngestError(ErrorCode.CORRUPT, "no file meta information after 'DICM'")
    body = _body_start(head)
    if body is not None and head[body : body + 8] == bytes(8):
        # Tag (0000,0000) of length 0: zero padding, not data (and not a deflate stream).
        raise IngestError(ErrorCode.NOT_DICOM, "zeros where the data set should start")


def _body_start(head: bytes) -> int | None:
    """Offset of the data set after the file meta, from its group length (0002,0000) UL."""
    if head[132:138] != b"\x02\x00\x00\x00UL" or len(head) < 144:
        return None
    return 144 + struct.unpack("<I", head[140:144])[0]


class _ReadsAtMostWhatIsLeft:
    """A file whose read(n) asks for no more than the bytes left in it.

    pydicom reads an element's value with read(declared length); a buffered file allocates
    the whole declared length first, so a header claiming 0xFFFFFFF0 bytes costs 4 GiB of
    memory for a file of a few kilobytes. Clamped, a lie costs only the file's real size."""

    def __init__(self, fh: BinaryIO, size: int) -> None:
        self._fh = fh
        self._size = size

    def read(self, n: int | None = -1) -> bytes:
        left = max(self._size - self._fh.tell(), 0)
        return self._fh.read(left if n is None or n < 0 or n > left else n)

    def __getattr__(self, name: str):
        return getattr(self._fh, name)


def read_dataset(data: bytes | BinaryIO) -> Dataset:
    """Parse a DICOM Part 10 file (force=False); classify every failure as an IngestError."""
    fh = io.BytesIO(data) if isinstance(data, bytes) else data
    size = fh.seek(0, os.SEEK_END)
    fh.seek(0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = dcmread(_ReadsAtMostWhatIsLeft(fh, size), force=False)
        except InvalidDicomError as exc:
            fh.seek(0)
            raise IngestError(*_classify_non_part10(fh.read(CLASSIFY_BYTES))) from exc
        except (EOFError, struct.error) as exc:
            raise IngestError(ErrorCode.TRUNCATED, f"{type(exc).__name__}: {exc}") from exc
        except Exception as exc:
            text = f"{type(exc).__name__}: {exc}"[:300]
            # pydicom's words for "fewer bytes left than the next tag needs".
            code = ErrorCode.TRUNCATED if "No tag to read" in text else ErrorCode.CORRUPT
            raise IngestError(code, text) from exc
    for warning in caught:
        text = str(warning.message)
        # pydicom stops quietly at a premature end of file and only warns about it.
        if "End of file reached" in text or "truncated" in text.lower():
            raise IngestError(ErrorCode.TRUNCATED, text.splitlines()[0][:300])
    if len(ds) == 0:
        raise IngestError(ErrorCode.TRUNCATED, "no data elements after the file meta")
    try:
        syntax = ds.file_meta.get("TransferSyntaxUID")
        # A deflated body's offsets count inflated bytes, so they say nothing about file size.
        ends_early = not _is_deflated(syntax) and _ends_early(ds, size)
    except Exception as exc:  # the last element unreadable (a stray delimiter, a bad VR)
        raise IngestError(ErrorCode.CORRUPT, f"{type(exc).__name__}: {exc}"[:300]) from exc
    if ends_early:
        raise IngestError(ErrorCode.TRUNCATED, "the last element runs past the end of the file")
    _convert_values(ds)
    return ds


def _convert_values(ds: Dataset) -> None:
    """Convert every raw value now (after the length checks, which read the raw elements).

    pydicom converts values on first access; doing it here, once, makes a value it cannot
    read (an unknown VR from a flipped bit) a refusal of the file, not an exception deep
    inside de-identification later."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # odd values are de-identification's business
        try:
            for _ in ds.iterall():
                pass
        except Exception as exc:
            raise IngestError(ErrorCode.CORRUPT, f"{type(exc).__name__}: {exc}"[:300]) from exc


def _is_deflated(syntax: str | None) -> bool:
    try:
        return bool(syntax) and UID(syntax).is_deflated
    except ValueError:  # not a transfer syntax pydicom knows: refused later with a reason
        return False


def _ends_early(ds: Dataset, size: int) -> bool:
    """pydicom keeps a short last element without a word; its declared length tells."""
    last = ds.get_item(next(reversed(ds.keys())))
    tell = getattr(last, "value_tell", None)
    if tell is None:
        return False
    length = getattr(last, "length", 0xFFFFFFFF)
    if length == 0xFFFFFFFF:
        # Undefined length (encapsulated pixel data): the 8-byte delimiter must fit too.
        value = last.value
        return isinstance(value, bytes) and tell + len(value) + 8 > size
    return tell + length > size


def _classify_non_part10(data: bytes) -> tuple[ErrorCode, str]:
    """Tell a bare DICOM dataset (no Part 10 header) from something that is not DICOM."""
    if data[:2] == b"\x00\x00":
        # Group 0000 is the network command group, never stored in a file: zeros or junk.
        return ErrorCode.NOT_DICOM, "no 'DICM' prefix at byte 128"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = dcmread(io.BytesIO(data), force=True, stop_before_pixels=True)
            looks_dicom = "SOPClassUID" in ds or "SOPInstanceUID" in ds
        except Exception:
            looks_dicom = False
    if looks_dicom:
        return ErrorCode.MISSING_FILE_META, "no 'DICM' prefix"
    return ErrorCode.NOT_DICOM, "no 'DICM' prefix at byte 128"


def _facts(ds: Dataset) -> dict[str, object]:
    """Non-identifying attributes the database keeps (read before de-identification)."""
    return {
        "sop_class_uid": _text(ds, "SOPClassUID"),
        "instance_number": _int_or_none(ds, "InstanceNumber"),
        "position": sort_position(ds),
        "modality": _text(ds, "Modality"),
        "manufacturer": _text(ds, "Manufacturer"),
        "manufacturer_model_name": _text(ds, "ManufacturerModelName"),
        "body_part": _text(ds, "BodyPartExamined"),
        "view_position": _text(ds, "ViewPosition"),
    }


def sort_position(ds: Dataset) -> float:
    """Order along a stack: ImagePositionPatient on the slice normal, else SliceLocation,
    else InstanceNumber, else 0."""
    position, orientation = ds.get("ImagePositionPatient"), ds.get("ImageOrientationPatient")
    if position is None or orientation is None:
        groups = ds.get("PerFrameFunctionalGroupsSequence") or []
        shared = ds.get("SharedFunctionalGroupsSequence") or []
        position = position or _group_value(groups, "PlanePositionSequence", "ImagePositionPatient")
        orientation = orientation or _group_value(
            [*groups, *shared], "PlaneOrientationSequence", "ImageOrientationPatient"
        )
    try:
        if position is not None and orientation is not None:
            ipp = [float(v) for v in position]
            iop = [float(v) for v in orientation]
            if len(ipp) == 3 and len(iop) == 6:
                # Plain floats: numpy's cross/dot cost more than the rest of this function.
                (rx, ry, rz), (cx, cy, cz) = iop[:3], iop[3:]
                normal = (ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx)
                value = sum(p * n for p, n in zip(ipp, normal, strict=True))
                if math.isfinite(value) and math.hypot(*normal) > 0.5:
                    return value
    except (TypeError, ValueError):
        pass
    for keyword in ("SliceLocation", "InstanceNumber"):
        try:
            value = float(ds.get(keyword))
        except (TypeError, ValueError):
            continue
        if math.isfinite(value):
            return value
    return 0.0


def _group_value(groups: list[Dataset], sequence: str, keyword: str) -> object:
    for group in groups[:1] if sequence == "PlanePositionSequence" else groups:
        inner = group.get(sequence)
        if inner and keyword in inner[0]:
            return inner[0].get(keyword)
    return None


def _text(ds: Dataset, keyword: str) -> str:
    try:
        value = ds.get(keyword)
    except Exception:
        return ""
    return "" if value is None else str(value).strip()


def _int_or_none(ds: Dataset, keyword: str) -> int | None:
    try:
        value = ds.get(keyword)
        return None if value is None or value == "" else int(value)
    except (TypeError, ValueError):
        return None


def _encode(ds: Dataset) -> bytes:
    syntax = UID(ds.file_meta.TransferSyntaxUID)
    if _body_encoding(ds) not in (None, (syntax.is_implicit_VR, syntax.is_little_endian)):
        # The body was encoded differently from what its transfer syntax says (seen in the
        # wild): raw elements cannot be copied through, so convert them all before writing.
        _convert_raw_elements(ds)
    buffer = io.BytesIO()
    # The original transfer syntax and pixel bytes are kept: nothing is re-encoded.
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _body_encoding(ds: Dataset) -> tuple[bool, bool] | None:
    """(implicit VR, little endian) as the body was actually read; None if nothing is raw."""
    for tag in ds.keys():  # noqa: SIM118 - iterating a Dataset converts every element
        elem = ds.get_item(tag)
        if getattr(elem, "is_raw", False):
            return elem.is_implicit_VR, elem.is_little_endian
    return None


def _convert_raw_elements(ds: Dataset) -> None:
    for elem in ds:  # iterating converts and stores each raw element
        if elem.VR == "SQ":
            for item in elem.value or []:
                _convert_raw_elements(item)


def _store(data: bytes, digest: str, target: Path, *, fsync: bool) -> bool:
    """Write `data` to `target` atomically and without overwriting; True if already there."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=".tmp-", suffix=".dcm", dir=target.parent)
    try:
        # mkstemp makes 0600 files; the web server must be able to read the stored copy.
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        try:
            # link() fails if the name exists, so two workers holding the same SOP Instance
            # never overwrite each other (os.replace would, silently).
            os.link(temp_name, target)
        except FileExistsError:
            if _same_content(target, len(data), digest):
                return True
            raise IngestError(
                ErrorCode.DUPLICATE, "a different file with this SOP Instance UID is stored"
            ) from None
        except OSError:
            # Filesystems without hard links: fall back to replace (same-name race unguarded).
            if target.exists():
                if _same_content(target, len(data), digest):
                    return True
                raise IngestError(
                    ErrorCode.DUPLICATE, "a different file with this SOP Instance UID is stored"
                ) from None
            os.replace(temp_name, target)
        return False
    finally:
        if os.path.exists(temp_name):
            os.unlink(temp_name)


def _same_content(path: Path, size: int, digest: str) -> bool:
    try:
        if path.stat().st_size != size:
            return False
        return hashlib.sha256(path.read_bytes()).hexdigest() == digest
    except OSError:
        return False


__all__ = ["ProcessedFile", "process_file", "read_dataset", "sort_position", "Geometry"]
