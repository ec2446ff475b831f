"""A study's images with their expert labels (MOS / majority vote) and split part: what a
training run, a model-versus-expert report or an active-learning query needs to know."""

from __future__ import annotations

import math
from dataclasses import dataclass

from imaging.models import Image

from ..models import Dimension, DimensionKind, ReaderStudy, Split
from ..results.mos_table import class_names, dimension_tables
from ..results.splits import split_subsets


@dataclass(frozen=True)
class LabelledImage:
    """One image of a study and its experts' label for one dimension.

    `mos` is the mean of the first readings (None if nobody rated the image); `majority` the
    majority label of a binary / category dimension (None for scores, for a tie or no votes);
    `part` the image's split part ("train" / "val" / "test") or "" when it is in no split.
    """

    image_id: int
    label: str
    patient_key: str
    site_key: str
    manufacturer: str
    modality: str
    patient_sex: str
    age_band: str
    n_ratings: int
    mos: float | None
    sd: float | None
    majority: str | None
    part: str


@dataclass(frozen=True)
class StudyLabels:
    study_id: int
    dimension_key: str
    kind: str  # DimensionKind: score / binary / category
    classes: list[str]  # class labels, lowest stored value first (binary / category)
    min_value: int
    max_value: int
    split_id: int | None
    images: list[LabelledImage]

    def rated(self) -> list[LabelledImage]:
        return [image for image in self.images if image.n_ratings > 0]

    def in_part(self, part: str) -> list[LabelledImage]:
        return [image for image in self.images if image.part == part]


class LabelsError(ValueError):
    """The study, dimension or split asked for does not fit; the message says which."""


def latest_split(study: ReaderStudy) -> Split | None:
    return Split.objects.filter(study=study).order_by("-created_at", "-pk").first()


def study_labels(study: ReaderStudy, dimension_key: str, split: Split | None = None) -> StudyLabels:
    """Every image of the study with its label for one dimension and its split part."""
    try:
        dimension = study.dimensions.get(key=dimension_key)
    except Dimension.DoesNotExist:
        keys = sorted(study.dimensions.values_list("key", flat=True))
        raise LabelsError(f"the study has no dimension {dimension_key!r} (it has {keys})") from None
    if split is not None and split.study_id != study.pk:
        raise LabelsError(f"split {split.pk} belongs to another study")
    table = next(t for t in dimension_tables(study) if t.dimension.pk == dimension.pk)
    parts = split_subsets(split) if split is not None else {}
    meta = {
        row["pk"]: row
        for row in Image.objects.filter(pk__in=table.image_ids).values(
            "pk",
            "label",
            "patient_key",
            "site_key",
            "manufacturer",
            "modality",
            "patient_sex",
            "age_band",
        )  # fmt: skip
    }
    images = []
    for i, image_id in enumerate(table.image_ids):
        row = meta[image_id]
        images.append(
            LabelledImage(
                image_id=image_id,
                label=row["label"] or str(image_id),
                patient_key=row["patient_key"],
                site_key=row["site_key"],
                manufacturer=row["manufacturer"],
                modality=row["modality"],
                patient_sex=row["patient_sex"],
                age_band=row["age_band"],
                n_ratings=int(table.n[i]),
                mos=_number(table.mean[i]),
                sd=_number(table.sd[i]),
                majority=table.majority[i],
                part=parts.get(image_id, ""),
            )
        )
    is_score = dimension.kind == DimensionKind.SCORE
    return StudyLabels(
        study_id=study.pk,
        dimension_key=dimension.key,
        kind=dimension.kind,
        classes=[] if is_score else class_names(dimension),
        min_value=dimension.min_value,
        max_value=dimension.max_value,
        split_id=split.pk if split is not None else None,
        images=images,
    )


def _number(value) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value
