"""Run process_file over many sources, in worker processes, refusing in-batch duplicates."""

from __future__ import annotations

import functools
import multiprocessing
from collections.abc import Iterable, Iterator
from pathlib import Path

from imaging.dicom.errors import ErrorCode, FileError
from imaging.dicom.process import ProcessedFile, process_file
from imaging.dicom.sources import Source


class DuplicateFilter:
    """Turns the second and later results with the same original SOP Instance into errors."""

    def __init__(self) -> None:
        self._first_name: dict[str, str] = {}

    def check(self, result: ProcessedFile | FileError) -> ProcessedFile | FileError:
        """Pass errors and first occurrences through; refuse repeats of an instance."""
        if isinstance(result, FileError):
            return result
        first = self._first_name.setdefault(result.source_uid_hash, result.name)
        if first == result.name:
            return result
        return FileError(result.name, ErrorCode.DUPLICATE, f"same instance as {first}")


def process_sources(
    sources: Iterable[Source | FileError],
    *,
    secret: bytes,
    out_dir: Path,
    workers: int = 1,
    chunksize: int = 8,
    **options: object,
) -> Iterator[ProcessedFile | FileError]:
    """Process every Source (FileErrors from iter_sources pass through first).

    With workers > 1, files go to a pool of spawned processes and results arrive in
    completion order. A repeated SOP Instance within the batch is refused as DUPLICATE
    (its stored file stays the first one's: files are never overwritten). `options` go
    to process_file (thumbnail_side, allow_burned_in, fsync).
    """
    items = list(sources)
    yield from (item for item in items if isinstance(item, FileError))
    todo = [item for item in items if isinstance(item, Source)]
    work = functools.partial(process_file, secret=secret, out_dir=Path(out_dir), **options)
    duplicates = DuplicateFilter()
    if workers <= 1 or len(todo) < 2:
        for source in todo:
            yield duplicates.check(work(source))
        return
    # spawn, not fork: a forked child would inherit the caller's threads and DB sockets.
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for result in pool.imap_unordered(work, todo, chunksize):
            yield duplicates.check(result)
