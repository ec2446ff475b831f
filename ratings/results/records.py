"""A study's submitted ratings as long-format records for ratings.stats (one dict per rating).

Record contract (ratings.stats.records): ``image`` (the image's neutral label, or its id when it
has none), ``rater`` (the rater's pseudonym), ``dimension`` (the dimension key), ``value`` (int
for score and binary dimensions, the category label text for category dimensions),
``duration_ms`` (the assessment's active time, None when unknown) and ``group`` (the rater's
profession). A rater's first reading of an image comes before any test-retest repeat, which
is how ratings.stats tells the two apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ..models import (
    AssessmentStatus,
    DimensionKind,
    Image,
    RaterProfile,
    Rating,
    ReaderStudy,
)

# Rows fetched from the database per round trip: large enough to amortise it, small enough to
# keep memory flat on a study with millions of ratings.
CHUNK = 20_000


def image_keys(study: ReaderStudy) -> dict[int, str]:
    """Image id -> the name exports use for it: its neutral label, or its id if it has none."""
    rows = Image.objects.filter(study_images__study=study).values_list("pk", "label")
    return {pk: (label or str(pk)) for pk, label in rows.iterator(chunk_size=CHUNK)}


def rater_names(study: ReaderStudy) -> dict[int, tuple[str, str]]:
    """User id -> (pseudonym, profession) of everyone who submitted in the study.

    A rater without a profile is named ``rater-<user id>``: exports never show a username.
    """
    user_ids = (
        study.assessments.filter(status=AssessmentStatus.SUBMITTED)
        .values_list("rater_id", flat=True)
        .distinct()
    )
    names = {pk: (f"rater-{pk}", "") for pk in user_ids}
    profiles = RaterProfile.objects.filter(user_id__in=list(names)).values_list(
        "user_id", "pseudonym", "profession"
    )
    for user_id, pseudonym, profession in profiles:
        names[user_id] = (pseudonym, profession)
    return names


def category_orders(study: ReaderStudy) -> dict[str, list[str]]:
    """Dimension key -> its category labels, lowest first (for ordered category statistics)."""
    return {
        d.key: [str(c) for c in d.categories]
        for d in study.dimensions.filter(kind=DimensionKind.CATEGORY)
    }


def rating_rows(
    study: ReaderStudy, dimensions: Iterable[str] | None = None, repeats: bool | None = None
) -> Iterator[tuple]:
    """Raw (image_id, rater_id, dimension_id, value, active_ms, repeat_index) of submitted ratings.

    Integer columns only, streamed in chunks: the names are joined in Python from small dicts,
    which is several times faster than letting the database repeat the strings per row.
    ``repeats`` False keeps first readings only, True repeats only, None both.
    """
    ratings = Rating.objects.filter(
        assessment__study=study, assessment__status=AssessmentStatus.SUBMITTED
    )
    if dimensions is not None:
        ratings = ratings.filter(dimension__key__in=list(dimensions))
    if repeats is False:
        ratings = ratings.filter(assessment__repeat_index=0)
    elif repeats is True:
        ratings = ratings.filter(assessment__repeat_index__gt=0).order_by(
            "assessment__repeat_index", "pk"
        )
    return ratings.values_list(
        "assessment__image_id",
        "assessment__rater_id",
        "dimension_id",
        "value",
        "assessment__active_ms",
        "assessment__repeat_index",
    ).iterator(chunk_size=CHUNK)


def records_for_study(
    study: ReaderStudy, dimensions: Iterable[str] | None = None, repeats: bool = True
) -> Iterator[dict[str, Any]]:
    """Yield one record per submitted rating of the study (see the module docstring).

    ``dimensions`` limits the records to those dimension keys; ``repeats`` False leaves out
    test-retest repeat readings. First readings are yielded before all repeats.
    """
    wanted = list(dimensions) if dimensions is not None else None
    dims = {d.pk: d for d in study.dimensions.all()}
    images = image_keys(study)
    raters = rater_names(study)
    # Category values are yielded as their label; everything else as the stored int.
    labels = {
        pk: [str(c) for c in d.categories]
        for pk, d in dims.items()
        if d.kind == DimensionKind.CATEGORY
    }
    keys = {pk: d.key for pk, d in dims.items()}
    passes = (False, True) if repeats else (False,)
    for which in passes:
        for image_id, rater_id, dim_id, value, active_ms, _repeat in rating_rows(
            study, wanted, repeats=which
        ):
            names = labels.get(dim_id)
            pseudonym, profession = raters[rater_id]
            yield {
                "image": images[image_id],
                "rater": pseudonym,
                "dimension": keys[dim_id],
                "value": names[value] if names is not None else value,
                "duration_ms": active_ms,
                "group": profession,
            }
