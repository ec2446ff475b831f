"""The import manifest: which image every input file became, for the person who imported them.

`import_dicom --manifest` writes one row per input file (path, status, reason, image label);
`import_ratings --manifest` reads it back, so a spreadsheet of ratings keyed by file path can
be brought in without knowing the image labels. The manifest is written for the importer only
and never stored on the platform: original paths may carry names of patients.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from imaging.models import Image

if TYPE_CHECKING:  # the importer reads manifests without loading the DICOM machinery
    from .ingest import FileOutcome

COLUMNS = ("path", "status", "reason", "image")


@dataclass(frozen=True)
class ManifestRow:
    path: str
    status: str  # "imported" or "skipped"
    reason: str
    image: str  # the image's label; empty when the file became no image


class ManifestError(ValueError):
    """The manifest file cannot be used; the message says why."""


def manifest_rows(outcomes: Iterable[FileOutcome], inputs: Sequence[str]) -> list[ManifestRow]:
    """One row per outcome, sorted by path, with paths as `manifest_path` gives them."""
    outcomes = list(outcomes)
    labels = dict(
        Image.objects.filter(pk__in={o.image for o in outcomes if o.image}).values_list(
            "pk", "label"
        )
    )
    rows = [
        ManifestRow(
            manifest_path(o.name, inputs),
            o.status,
            o.reason_code if not o.reason else f"{o.reason_code}: {o.reason}",
            labels.get(o.image, "") if o.image else "",
        )
        for o in outcomes
    ]
    return sorted(rows, key=lambda r: r.path)


def manifest_path(name: str, inputs: Sequence[str]) -> str:
    """The path a researcher knows a file by: relative to the one folder given, and
    `archive.zip/inner/path` for a file inside a zip.

    Ingest names a folder's files `<folder name>/<relative path>` and a zip entry
    `<archive>!<entry>`; with several inputs every path keeps its input's own name in front.
    """
    parents = [Path(p).resolve().parent for p in inputs]
    # A '!' separates an archive from its entry only where the part before it is a file.
    for i, char in enumerate(name):
        if char == "!" and any((parent / name[:i]).is_file() for parent in parents):
            name = f"{name[:i]}/{name[i + 1 :]}"
            break
    if len(inputs) == 1 and Path(inputs[0]).is_dir():
        prefix = (Path(inputs[0]).resolve().name or str(inputs[0])) + "/"
        if name.startswith(prefix):
            name = name[len(prefix) :]
    return name


def write_manifest(rows: Iterable[ManifestRow], file: IO[str]) -> None:
    writer = csv.writer(file, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([row.path, row.status, row.reason, row.image])


def read_manifest(file: IO[str]) -> dict[str, ManifestRow]:
    """The manifest's rows by path; ManifestError if it lacks a column or repeats a path."""
    reader = csv.DictReader(file)
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ManifestError(f"the manifest lacks column(s): {', '.join(missing)}")
    reader.fieldnames = header
    rows: dict[str, ManifestRow] = {}
    for cells in reader:
        row = ManifestRow(*((cells.get(c) or "").strip() for c in COLUMNS))
        if row.path in rows:
            raise ManifestError(f"line {reader.line_num}: path {row.path!r} is there twice")
        rows[row.path] = row
    return rows
