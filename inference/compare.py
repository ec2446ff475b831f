"""The model-versus-expert report of a model version: its predictions beside the study's expert
labels, the statistics of ratings/stats/compare.py over them, the model's and experts' time."""

from __future__ import annotations

import csv
import io
import pickle
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imaging.models import Image
from ratings.models import Assessment, AssessmentStatus, DimensionKind, ReaderStudy
from ratings.results.csv_cells import safe_row
from ratings.services.labels import LabelsError, study_labels
from ratings.stats._json import num
from ratings.stats.compare import compare

from .models import ModelVersion, Target
from .predict import predict_study

# Subgroup key in the report -> LabelledImage attribute.
SUBGROUPS = {
    "site": "site_key",
    "manufacturer": "manufacturer",
    "modality": "modality",
    "sex": "patient_sex",
    "age_band": "age_band",
}
PARTS = ("train", "val", "test")


class CompareError(ValueError):
    """The comparison asked for does not fit the version or the study; the message says why."""


class ScoringError(CompareError):
    """The version cannot score the images (its checkpoint or an image file is unusable)."""


# What loading a version (its config, its checkpoint) or an image file raises when one is
# missing or damaged.
SCORING_ERRORS = (OSError, RuntimeError, TypeError, ValueError, KeyError, pickle.UnpicklingError)


@dataclass(frozen=True)
class Pair:
    """One image scored by the model and by the experts (a class index for class targets)."""

    image_id: int
    image: str
    part: str
    model: float
    expert: float
    groups: dict[str, str] = field(default_factory=dict)
    # What the ROC ranks: the score itself, or a classifier's expected class index
    # (sum of i x p_i; for a binary model the probability of its higher class).
    roc_score: float | None = None


@dataclass
class Pairs:
    pairs: list[Pair]
    classes: list[str] | None  # class names when model and expert are class indices
    model_s_per_image: float | None
    n_without_expert: int  # images predicted but not rated (or tied) by the experts


def model_expert_pairs(
    version: ModelVersion, study: ReaderStudy, dimension: str, part: str = ""
) -> Pairs:
    """The version's predictions beside the study's MOS (or majority class) for one dimension.

    The one place pairs are gathered: predictions are computed live for now (one image at a
    time, as inference.predict does); the model's time is the median wall time per image,
    file read and preprocessing included, so the first image's model load does not count.
    """
    if version.split_id is not None and study.pk != version.study_id:
        # predict_study lists the images through the version's split, which is its own study's.
        raise CompareError(
            f"model version {version.pk} was trained with a split of study "
            f"{version.study_id}: it is compared on that study only"
        )
    split = version.split
    try:
        labels = study_labels(study, dimension, split)
    except LabelsError as error:
        raise CompareError(str(error)) from None
    classes = None
    if version.target != Target.REGRESSION:
        if labels.kind == DimensionKind.SCORE:
            raise CompareError(f"a {version.target} model needs a binary or category dimension")
        classes = labels.classes
    elif labels.kind != DimensionKind.SCORE:
        raise CompareError("a regression model is compared with a score dimension")
    expert_of = {}
    for image in labels.images:
        if classes is None:
            expert_of[image.image_id] = image.mos
        else:
            expert_of[image.image_id] = (
                classes.index(image.majority) if image.majority in classes else None
            )
    info = {image.image_id: image for image in labels.images}
    pairs, seconds, missing = [], [], 0
    try:
        predictions = list(_timed(predict_study(version, study, part), seconds))
    except Image.DoesNotExist as error:
        raise ScoringError(str(error)) from None
    except SCORING_ERRORS as error:
        raise ScoringError(f"model version {version.pk} cannot score the images: {error}") from None
    for prediction in predictions:
        expert = expert_of.get(prediction.image_id)
        if expert is None or prediction.score is None:
            missing += 1
            continue
        image = info[prediction.image_id]
        pairs.append(
            Pair(
                image_id=image.image_id,
                image=image.label,
                part=image.part,
                model=float(prediction.score),
                expert=float(expert),
                groups={key: getattr(image, attr) for key, attr in SUBGROUPS.items()},
                roc_score=_expected_class(prediction.probabilities),
            )
        )
    return Pairs(pairs, classes, num(np.median(seconds)) if seconds else None, missing)


def _expected_class(probabilities: Sequence[float] | None) -> float | None:
    if not probabilities:
        return None
    return float(np.dot(np.arange(len(probabilities)), probabilities))


def _timed(predictions: Iterable[Any], seconds: list[float]) -> Iterable[Any]:
    """Yield the predictions, appending each one's wall time to ``seconds``."""
    started = time.perf_counter()
    for prediction in predictions:
        now = time.perf_counter()
        seconds.append(now - started)
        yield prediction
        started = time.perf_counter()


def binary_labels(
    study: ReaderStudy, label_dimension: str | None
) -> tuple[str | None, dict[int, int | None]]:
    """1 / 0 per image from the majority vote of a binary dimension: 1 for its class with the
    higher stored value (e.g. acceptable), None for a tie or no votes. Without a dimension
    named, the study's first binary dimension (none: no labels)."""
    dimensions = study.dimensions.order_by("order", "pk")
    if label_dimension:
        dimension = dimensions.filter(key=label_dimension).first()
        if dimension is None or dimension.kind != DimensionKind.BINARY:
            raise CompareError(f"the study has no binary dimension {label_dimension!r}")
    else:
        dimension = dimensions.filter(kind=DimensionKind.BINARY).first()
        if dimension is None:
            return None, {}
    labels = study_labels(study, dimension.key)
    positive = labels.classes[-1]
    return dimension.key, {
        image.image_id: None if image.majority is None else int(image.majority == positive)
        for image in labels.images
    }


def expert_timing(study: ReaderStudy, image_ids: Iterable[int]) -> dict[str, dict[str, Any]]:
    """Median (and quartiles) of the experts' active seconds per image, by profession group:
    first readings submitted in this study of these images (the chest paper's Table 4)."""
    rows = Assessment.objects.filter(
        study=study,
        image_id__in=list(image_ids),
        status=AssessmentStatus.SUBMITTED,
        repeat_index=0,
        active_ms__isnull=False,
    ).values_list("rater__rater_profile__profession", "active_ms")
    by_group: dict[str, list[float]] = {}
    for profession, active_ms in rows:
        by_group.setdefault(profession or "other", []).append(active_ms / 1000.0)
    out = {}
    for group in sorted(by_group):
        q1, median, q3 = np.percentile(by_group[group], [25, 50, 75])
        out[group] = {
            "n": len(by_group[group]),
            "median_s": num(median),
            "q1_s": num(q1),
            "q3_s": num(q3),
        }
    return out


def report_from_pairs(
    pairs: Sequence[Pair],
    classes: Sequence[str] | None = None,
    labels: dict[int, int | None] | None = None,
    threshold: float | None = None,
) -> dict[str, Any]:
    """ratings.stats.compare over these pairs, with the subgroups of their images."""
    return compare(
        [p.model for p in pairs],
        [p.expert for p in pairs],
        images=[p.image for p in pairs],
        labels=None if labels is None else [labels.get(p.image_id) for p in pairs],
        subgroups={key: [p.groups.get(key, "") for p in pairs] for key in SUBGROUPS},
        threshold=threshold,
        classes=classes,
        roc_scores=[p.model if p.roc_score is None else p.roc_score for p in pairs],
    )


def version_report(
    version: ModelVersion,
    study: ReaderStudy | None = None,
    dimension: str | None = None,
    part: str = "test",
    label_dimension: str | None = None,
    threshold: float | None = None,
    gathered: Pairs | None = None,
) -> dict[str, Any]:
    """The whole report of one version on one split part ("" = every image), timing included.

    ``gathered``: pairs already gathered for every part (the page reports three parts from one
    pass over the images).
    """
    study = study or version.study
    dimension = dimension or version.dimension_key
    if part and part not in PARTS:
        raise CompareError(f"part: one of {', '.join(PARTS)} (or empty for every image)")
    found = gathered or model_expert_pairs(version, study, dimension, part)
    pairs = [p for p in found.pairs if not part or p.part == part]
    label_key, labels = binary_labels(study, label_dimension)
    report = report_from_pairs(pairs, found.classes, labels if label_key else None, threshold)
    report.update(
        model_version=version.pk,
        study=study.pk,
        dimension=dimension,
        part=part,
        label_dimension=label_key,
        n_without_expert=found.n_without_expert,
        timing={
            "model_s_per_image": found.model_s_per_image,
            "experts": expert_timing(study, [p.image_id for p in pairs]),
        },
    )
    return report


def pairs_csv(pairs: Sequence[Pair], labels: dict[int, int | None] | None = None) -> str:
    """The per-image pairs as CSV, in the shape `manage.py compare --csv` reads back."""
    out = io.StringIO()
    writer = csv.writer(out)
    header = ["image", "model", "expert", "diff", "part", *SUBGROUPS]
    scored = any(p.roc_score is not None for p in pairs)
    if scored:
        header.insert(3, "roc_score")
    if labels is not None:
        header.insert(3, "label")
    writer.writerow(header)
    for p in pairs:
        row = [p.image, round(p.model, 6), round(p.expert, 6)]
        if labels is not None:
            label = labels.get(p.image_id)
            row.append("" if label is None else label)
        if scored:
            row.append("" if p.roc_score is None else round(p.roc_score, 6))
        row += [round(p.model - p.expert, 6), p.part, *(p.groups.get(k, "") for k in SUBGROUPS)]
        writer.writerow(safe_row(row))
    return out.getvalue()
