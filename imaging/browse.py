"""What the dataset pages show: counts, a page of images (keyset), reports, header tags.

The grid pages by image id (keyset: `id > after`), so page 1000 of 100k images costs what page
1 costs; the total and the counts by modality and manufacturer are one GROUP BY, cached until
the dataset gains an image.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

import pydicom
from django.core.cache import cache
from django.db.models import Count, Max, Q, QuerySet

from .models import Dataset, Image, IngestJob

PAGE_SIZE = 60
# Uploaded files wait as files/000003-name (imaging.chunked) or 00003-name (form uploads).
STORED_PREFIX = re.compile(r"^(?:files/)?\d{5,6}-")
COUNTS_TTL_S = 600


@dataclass(frozen=True)
class Filters:
    modality: str = ""
    manufacturer: str = ""
    series: str = ""  # a label or (de-identified) series UID, or its beginning

    @classmethod
    def from_query(cls, query) -> Filters:
        return cls(
            modality=query.get("modality", "")[:16],
            manufacturer=query.get("manufacturer", "")[:128],
            series=query.get("series", "").strip()[:64],
        )

    def apply(self, images: QuerySet[Image]) -> QuerySet[Image]:
        if self.modality:
            images = images.filter(modality=self.modality)
        if self.manufacturer:
            images = images.filter(manufacturer=self.manufacturer)
        if self.series:
            images = images.filter(
                Q(label__istartswith=self.series) | Q(series_uid__startswith=self.series)
            )
        return images

    def query(self) -> str:
        from urllib.parse import urlencode

        return urlencode({k: v for k, v in vars(self).items() if v})


def counts(dataset: Dataset) -> dict:
    """Images in total, by modality and by manufacturer (cached until a new image arrives)."""
    newest = dataset.images.aggregate(m=Max("id"))["m"] or 0
    key = f"imaging:counts:{dataset.pk}:{newest}"
    found = cache.get(key)
    if found is not None:
        return found
    by_modality: dict[str, int] = defaultdict(int)
    by_manufacturer: dict[str, int] = defaultdict(int)
    total = 0
    for modality, manufacturer, n in (
        dataset.images.values_list("modality", "manufacturer").annotate(n=Count("id")).order_by()
    ):
        by_modality[modality or "unknown"] += n
        by_manufacturer[manufacturer or "unknown"] += n
        total += n
    result = {
        "total": total,
        "by_modality": sorted(by_modality.items(), key=lambda kv: (-kv[1], kv[0])),
        "by_manufacturer": sorted(by_manufacturer.items(), key=lambda kv: (-kv[1], kv[0])),
    }
    cache.set(key, result, COUNTS_TTL_S)
    return result


def image_page(
    dataset: Dataset, filters: Filters, after: int | None = None, before: int | None = None
) -> dict:
    """One page of the grid: PAGE_SIZE images after (or before) an image id, and the cursors."""
    images = filters.apply(dataset.images.all()).only(
        # dataset too: the related manager checks it on every row (else one query per row)
        "id",
        "dataset",
        "label",
        "modality",
        "manufacturer",
        "n_frames",
        "thumbnail",
    )
    if before is not None:
        rows = list(images.filter(id__lt=before).order_by("-id")[: PAGE_SIZE + 1])
        has_more_back = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE][::-1]
        has_next = True
        has_previous = has_more_back
    else:
        start = images.filter(id__gt=after) if after is not None else images
        rows = list(start.order_by("id")[: PAGE_SIZE + 1])
        has_next = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        has_previous = after is not None and images.filter(id__lte=after).exists()
    return {
        "images": rows,
        "next_after": rows[-1].id if rows and has_next else None,
        "previous_before": rows[0].id if rows and has_previous else None,
    }


def grouped_report(job: IngestJob) -> dict:
    """An ingest job's per-file outcomes grouped by reason code (imported files counted)."""
    files = (job.report or {}).get("files", [])
    groups: dict[str, dict] = {}
    for outcome in files:
        if outcome.get("status") != "skipped":
            continue
        code = outcome.get("reason_code") or "unknown"
        group = groups.setdefault(
            code, {"code": code, "reason": outcome.get("reason", ""), "files": []}
        )
        group["files"].append(_shown_name(outcome.get("name", "")))
    return {
        "imported": sum(1 for o in files if o.get("status") == "imported"),
        "skipped": sum(len(g["files"]) for g in groups.values()),
        "groups": sorted(groups.values(), key=lambda g: (-len(g["files"]), g["code"])),
        "summary": (job.report or {}).get("summary", {}),
    }


def _shown_name(name: str) -> str:
    """A file's name as the uploader knows it: without the upload folder's storage prefix."""
    return STORED_PREFIX.sub("", name)


def header_tags(image: Image, limit: int = 400) -> list[tuple[str, str, str]]:
    """(tag, keyword, value) of the image's first stored (de-identified) file, pixels left out."""
    first = image.files.order_by("position", "instance_number", "id").first()
    if first is None:
        return []
    with first.file.open("rb") as handle:
        ds = pydicom.dcmread(handle, stop_before_pixels=True, force=True)
    rows = []
    for element in ds.iterall():
        if element.VR == "SQ":
            value = f"sequence of {len(element.value)} item(s)"
        elif element.VR in ("OB", "OW", "OF", "OD", "UN"):
            value = f"{len(element.value or b'')} bytes"
        else:
            value = str(element.value)[:120]
        rows.append(
            (f"({element.tag.group:04X},{element.tag.element:04X})", element.keyword, value)
        )
        if len(rows) >= limit:
            break
    return rows
