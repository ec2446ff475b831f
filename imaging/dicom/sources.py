"""Turn user input (files, folders, zip archives) into named byte sources to ingest."""

from __future__ import annotations

import contextlib
import functools
import io
import os
import posixpath
import stat
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from imaging.dicom.errors import ErrorCode, FileError, IngestError

ZIP_MAGIC = b"PK\x03\x04"
ZIP_EMPTY_MAGIC = b"PK\x05\x06"


@dataclass(frozen=True, slots=True)
class ZipLimits:
    """Bounds that refuse zip bombs before anything is unpacked."""

    max_entry_bytes: int = 2 * 1024**3  # one very large multi-frame file
    # Per call of iter_sources (one upload or one import), over all its archives together:
    # an upload is at most IQA_MAX_UPLOAD_BYTES (2 GiB) and DICOM rarely compresses 8:1.
    max_total_bytes: int = 16 * 1024**3
    max_entries: int = 100_000
    # DICOM rarely compresses beyond ~20:1 (air, padding); bombs reach 1000:1 and more.
    max_ratio: float = 200.0
    # Small entries may compress well (zeros, headers) without being dangerous; from this
    # size on (inclusive) each entry's ratio is checked, and every archive's overall ratio.
    ratio_floor_bytes: int = 1024**2
    # Zip entries up to this size are unpacked in memory, larger ones to a temporary file.
    spool_in_memory_bytes: int = 32 * 1024**2


DEFAULT_ZIP_LIMITS = ZipLimits()


@dataclass(frozen=True, slots=True)
class Source:
    """One input file: a display name and where its bytes are (picklable, opened lazily)."""

    name: str
    path: str
    member: str | None = None  # entry name inside the zip at `path`
    size: int = 0  # uncompressed size in bytes, as declared
    limits: ZipLimits = DEFAULT_ZIP_LIMITS

    def read_bytes(self) -> bytes:
        """Read the whole file; raises IngestError with a reason instead of OSError/zip errors."""
        with self.open() as fh:
            return fh.read()

    @contextlib.contextmanager
    def open(self) -> Iterator[BinaryIO]:
        """A seekable binary file of the whole content: the file itself, or the zip entry
        unpacked (in memory when small, else to a temporary file that is removed after)."""
        if self.member is None:
            try:
                fh = open(self.path, "rb")  # noqa: SIM115 - closed below
            except OSError as exc:
                raise IngestError(ErrorCode.UNREADABLE, exc.strerror or str(exc)) from exc
            with fh:
                yield fh
            return
        with _unpacked_member(self.path, self.member, self.limits) as fh:
            yield fh


def iter_sources(
    paths: Iterable[str | os.PathLike[str]], *, zip_limits: ZipLimits = DEFAULT_ZIP_LIMITS
) -> Iterator[Source | FileError]:
    """Yield a Source for every candidate file under `paths`, or a FileError for unusable input.

    Folders are walked recursively in sorted order; hidden files and folders (leading '.')
    and DICOMDIR index files are skipped. Zip archives (by content, whatever their suffix)
    are listed without unpacking; unsafe or oversized entries become FileErrors.
    """
    budget = _Budget(zip_limits)
    for raw in paths:
        path = Path(raw)
        try:
            mode = path.stat().st_mode
        except OSError as exc:
            yield FileError(path.name or str(path), ErrorCode.UNREADABLE, exc.strerror or "")
            continue
        if stat.S_ISDIR(mode):
            yield from _walk_folder(path, budget)
        else:
            yield from _file_sources(path, path.name, budget)


@dataclass(slots=True)
class _Budget:
    """What the archives of one call may still unpack, together (entries and bytes)."""

    limits: ZipLimits
    entries: int = 0
    total_bytes: int = 0

    def take(self, entries: int, total_bytes: int) -> str | None:
        """Count one archive in; the reason it would exceed the limits, or None."""
        if self.entries + entries > self.limits.max_entries:
            return f"{self.entries + entries} entries (limit {self.limits.max_entries})"
        if self.total_bytes + total_bytes > self.limits.max_total_bytes:
            return (
                f"{self.total_bytes + total_bytes} bytes uncompressed in total "
                f"(limit {self.limits.max_total_bytes})"
            )
        self.entries += entries
        self.total_bytes += total_bytes
        return None


def _walk_folder(root: Path, budget: _Budget) -> Iterator[Source | FileError]:
    base = Path(root.resolve().name or str(root))
    errors: list[OSError] = []  # folders os.walk could not list

    def unreadable() -> Iterator[FileError]:
        while errors:
            exc = errors.pop(0)
            where = Path(exc.filename or root)
            name = (
                (base / where.relative_to(root)).as_posix()
                if where.is_relative_to(root)
                else where.name
            )
            yield FileError(name, ErrorCode.UNREADABLE, exc.strerror or "")

    for folder, dirs, files in os.walk(root, onerror=errors.append):
        # Sorting in place makes os.walk deterministic; hidden folders are pruned here.
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel_folder = Path(folder).relative_to(root)
        for file_name in sorted(files):
            if file_name.startswith(".") or file_name.upper() == "DICOMDIR":
                continue
            rel = (base / rel_folder / file_name).as_posix()
            yield from _file_sources(Path(folder) / file_name, rel, budget)
        yield from unreadable()
    yield from unreadable()


def _file_sources(path: Path, name: str, budget: _Budget) -> Iterator[Source | FileError]:
    try:
        with path.open("rb") as fh:
            head = fh.read(132)
        size = path.stat().st_size
    except OSError as exc:
        yield FileError(name, ErrorCode.UNREADABLE, exc.strerror or "")
        return
    if _looks_like_zip(head):
        yield from _zip_sources(path, name, budget)
    else:
        yield Source(name=name, path=str(path), size=size)


def _looks_like_zip(head: bytes) -> bool:
    # A DICOM preamble is free-form, so "PK" could start one; 'DICM' at 128 settles it.
    return head[:4] in (ZIP_MAGIC, ZIP_EMPTY_MAGIC) and head[128:132] != b"DICM"


def _safe_member_name(name: str) -> str | None:
    """The normalised entry path, or None if it could escape the archive root."""
    cleaned = name.replace("\\", "/")
    if cleaned.startswith("/") or (len(cleaned) > 1 and cleaned[1] == ":"):
        return None
    parts = cleaned.split("/")
    if ".." in parts:
        return None
    return posixpath.normpath(cleaned)


def _zip_sources(path: Path, name: str, budget: _Budget) -> Iterator[Source | FileError]:
    limits = budget.limits
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        yield FileError(name, ErrorCode.ZIP_CORRUPT, str(exc))
        return
    total = sum(info.file_size for info in infos)
    # Entries under the floor escape the per-entry ratio check; many of them together are
    # still a bomb (600 x 1 MiB of zeros in 676 KB), so their sum is checked as one.
    small = [info for info in infos if info.file_size < limits.ratio_floor_bytes]
    small_total = sum(info.file_size for info in small)
    small_ratio = small_total / max(sum(info.compress_size for info in small), 1)
    if small_total >= limits.ratio_floor_bytes and small_ratio > limits.max_ratio:
        detail = f"compression ratio {small_ratio:.0f}:1 over {len(small)} small entries"
        yield FileError(name, ErrorCode.ZIP_TOO_LARGE, detail)
        return
    too_much = budget.take(len(infos), total)
    if too_much is not None:
        yield FileError(name, ErrorCode.ZIP_TOO_LARGE, too_much)
        return
    yielded = False
    for info in infos:
        if info.is_dir():
            continue
        display = f"{name}!{info.filename}"
        member = _safe_member_name(info.filename)
        if member is None:
            yielded = True
            yield FileError(display, ErrorCode.ZIP_UNSAFE_PATH, info.filename)
            continue
        parts = member.split("/")
        # macOS archivers add __MACOSX/ resource forks; they are never images.
        if parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts):
            continue
        if parts[-1].upper() == "DICOMDIR":
            continue
        reason = _entry_problem(info, limits)
        yielded = True
        if reason is not None:
            yield FileError(display, *reason)
            continue
        yield Source(
            name=f"{name}!{member}",
            path=str(path),
            member=info.filename,
            size=info.file_size,
            limits=limits,
        )
    if not yielded:
        # Else an upload of an empty archive would end with no word about it at all.
        yield FileError(name, ErrorCode.ZIP_EMPTY)


def _entry_problem(info: zipfile.ZipInfo, limits: ZipLimits) -> tuple[ErrorCode, str] | None:
    if info.flag_bits & 0x1:
        return ErrorCode.ZIP_ENCRYPTED, ""
    if info.file_size > limits.max_entry_bytes:
        return ErrorCode.ZIP_TOO_LARGE, f"entry of {info.file_size} bytes"
    if info.file_size >= limits.ratio_floor_bytes:
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.max_ratio:
            return ErrorCode.ZIP_TOO_LARGE, f"compression ratio {ratio:.0f}:1"
    if info.filename.lower().endswith(".zip"):
        return ErrorCode.ZIP_NESTED, ""
    return None


@functools.lru_cache(maxsize=4)
def _open_zip(path: str, mtime_ns: int) -> zipfile.ZipFile:
    # Re-parsing the central directory for every entry would make a big archive O(n^2);
    # each worker process keeps a few archives open. mtime in the key drops stale handles.
    del mtime_ns
    return zipfile.ZipFile(path)


@contextlib.contextmanager
def _member_errors() -> Iterator[None]:
    """Turn zipfile's and the OS's exceptions into IngestErrors with a reason."""
    try:
        yield
    except RuntimeError as exc:  # zipfile signals encrypted entries this way
        raise IngestError(ErrorCode.ZIP_ENCRYPTED, str(exc)) from exc
    except (zipfile.BadZipFile, KeyError, EOFError, ValueError, NotImplementedError) as exc:
        raise IngestError(ErrorCode.ZIP_CORRUPT, str(exc)) from exc
    except OSError as exc:
        raise IngestError(ErrorCode.UNREADABLE, exc.strerror or str(exc)) from exc


@contextlib.contextmanager
def _open_member(path: str, member: str, limits: ZipLimits) -> Iterator[tuple[BinaryIO, int]]:
    archive = _open_zip(path, os.stat(path).st_mtime_ns)
    info = archive.getinfo(member)
    if info.file_size > limits.max_entry_bytes:
        raise IngestError(ErrorCode.ZIP_TOO_LARGE, f"entry of {info.file_size} bytes")
    with archive.open(info) as fh:
        yield fh, info.file_size


@contextlib.contextmanager
def _unpacked_member(path: str, member: str, limits: ZipLimits) -> Iterator[BinaryIO]:
    """The entry unpacked into a seekable file, never more than its declared size."""
    with contextlib.ExitStack() as stack:
        with _member_errors(), _open_member(path, member, limits) as (fh, size):
            if size <= limits.spool_in_memory_bytes:
                out: BinaryIO = io.BytesIO()
            else:
                out = stack.enter_context(tempfile.TemporaryFile(prefix="iqa-entry-"))
            # The header's size can lie: copy at most one byte past it and check.
            copied = _copy_at_most(fh, out, size + 1)
        if copied != size:
            raise IngestError(ErrorCode.ZIP_CORRUPT, "entry size differs from its header")
        out.seek(0)
        yield out


def _copy_at_most(src: BinaryIO, dst: BinaryIO, limit: int, chunk: int = 1024**2) -> int:
    copied = 0
    while copied < limit:
        block = src.read(min(chunk, limit - copied))
        if not block:
            break
        dst.write(block)
        copied += len(block)
    return copied
