"""Each rater's worklist: the study's images in a reproducible order of their own, and progress.

Order: higher `StudyImage.priority` first (the active-learning hook: a model's query raises
the priority of the images it wants rated next), then a per-rater shuffle. The shuffle key of an
image is a hash of (study.order_seed, rater id, image id), so a rater's order is the same after a
reload or a new login, differs between raters, and stays stable when images are added or
priorities change (an image keeps its place relative to the others of its priority).

Resuming is "the first item in this order that has no finished assessment", so a reload, a new
login or a new priority all land the rater on the right image.
"""

from __future__ import annotations

import hashlib
import statistics
from dataclasses import dataclass, field

from django.db.models import Q

from .models import (
    Assessment,
    AssessmentStatus,
    Dimension,
    ReaderStudy,
    StudyImage,
)

FINISHED = (AssessmentStatus.SUBMITTED, AssessmentStatus.SKIPPED)


def shuffle_key(order_seed: int, rater_id: int, image_id: int) -> bytes:
    """The image's place in one rater's shuffle: a stable hash, not Python's salted hash()."""
    return hashlib.sha256(f"{order_seed}:{rater_id}:{image_id}".encode()).digest()


@dataclass(frozen=True)
class WorklistItem:
    position: int  # 0-based place in the rater's order
    image_id: int
    label: str
    priority: int
    repeat_index: int = 0
    status: str = "todo"  # "todo", or an AssessmentStatus of the rater's assessment
    client_id: str | None = None  # the rater's assessment, when there is one


@dataclass
class Worklist:
    study: ReaderStudy
    rater_id: int
    items: list[WorklistItem] = field(default_factory=list)

    @property
    def n_total(self) -> int:
        return len(self.items)

    @property
    def n_submitted(self) -> int:
        return sum(item.status == AssessmentStatus.SUBMITTED for item in self.items)

    @property
    def n_skipped(self) -> int:
        return sum(item.status == AssessmentStatus.SKIPPED for item in self.items)

    @property
    def n_finished(self) -> int:
        return self.n_submitted + self.n_skipped

    @property
    def next_position(self) -> int | None:
        """Where the rater resumes: the first unfinished item, or None when all are done."""
        for item in self.items:
            if item.status not in FINISHED:
                return item.position
        return None


def ordered_study_images(study: ReaderStudy, rater_id: int) -> list[tuple[int, str, int]]:
    """(image id, label, priority) in the rater's order: priority first, then their shuffle."""
    rows = StudyImage.objects.filter(study=study).values_list(
        "image_id", "image__label", "priority"
    )
    return sorted(rows, key=lambda r: (-r[2], shuffle_key(study.order_seed, rater_id, r[0])))


def build_worklist(study: ReaderStudy, rater) -> Worklist:
    """The rater's worklist with the status of each item (two queries whatever the study's size)."""
    own = {
        (image_id, repeat): (status, client_id)
        for image_id, repeat, status, client_id in Assessment.objects.filter(
            study=study, rater=rater
        ).values_list("image_id", "repeat_index", "status", "client_id")
    }
    items = []
    for position, (image_id, label, priority) in enumerate(ordered_study_images(study, rater.id)):
        status, client_id = own.get((image_id, 0), ("todo", None))
        items.append(
            WorklistItem(
                position=position,
                image_id=image_id,
                label=label or f"image {position + 1}",
                priority=priority,
                status=str(status),
                client_id=str(client_id) if client_id else None,
            )
        )
    return Worklist(study=study, rater_id=rater.id, items=items)


def median_reading_ms(study: ReaderStudy, rater) -> int | None:
    """The rater's median time per finished image (opened to submitted), to estimate time left."""
    durations = [
        (submitted - opened).total_seconds() * 1000
        for opened, submitted in Assessment.objects.filter(
            study=study,
            rater=rater,
            status=AssessmentStatus.SUBMITTED,
            opened_at__isnull=False,
            submitted_at__isnull=False,
        )
        .order_by("-submitted_at")
        .values_list("opened_at", "submitted_at")[:200]
    ]
    return round(statistics.median(durations)) if durations else None


def dimensions_for(study: ReaderStudy, rater, image_id: int) -> list[Dimension]:
    """The study's dimensions that apply to this rater and image (an empty limit means all)."""
    return list(
        study.dimensions.filter(Q(raters__isnull=True) | Q(raters=rater))
        .filter(Q(images__isnull=True) | Q(images=image_id))
        .distinct()
        .order_by("order", "id")
    )


def dimensions_by_image(study: ReaderStudy, rater, image_ids: list[int]) -> dict[int, list[int]]:
    """For each image, the ids of the dimensions that apply (three queries for the whole list)."""
    dims = list(study.dimensions.order_by("order", "id"))
    limited_raters = set(
        Dimension.raters.through.objects.filter(dimension__study=study).values_list(
            "dimension_id", flat=True
        )
    )
    mine = set(
        Dimension.raters.through.objects.filter(dimension__study=study, user=rater).values_list(
            "dimension_id", flat=True
        )
    )
    image_limits: dict[int, set[int]] = {}
    for dim_id, image_id in Dimension.images.through.objects.filter(
        dimension__study=study
    ).values_list("dimension_id", "image_id"):
        image_limits.setdefault(dim_id, set()).add(image_id)
    for_rater = [d.id for d in dims if d.id not in limited_raters or d.id in mine]
    return {
        image_id: [
            dim_id
            for dim_id in for_rater
            if dim_id not in image_limits or image_id in image_limits[dim_id]
        ]
        for image_id in image_ids
    }
