"""Builders shared by the export, import, split and release tests: ratings with timing."""

from datetime import UTC, datetime, timedelta

from ratings.models import (
    Assessment,
    AssessmentStatus,
    Dimension,
    DimensionKind,
    Membership,
    Rating,
    RatingRevision,
    Role,
)

T0 = datetime(2026, 3, 1, 9, 0, 0, 250_000, tzinfo=UTC)


def add_category_dimension(
    study, key="grade", labels=("non-diagnostic", "diagnostic, ok", 'ex"cellent')
):
    return Dimension.objects.create(
        study=study,
        key=key,
        label=key.title(),
        kind=DimensionKind.CATEGORY,
        min_value=0,
        max_value=len(labels) - 1,
        categories=list(labels),
        order=9,
    )


def rate(study, rater, image, values: dict, repeat_index=0, active_ms=4000, **fields):
    """A submitted reading with one rating per dimension key; returns the assessment."""
    Membership.objects.get_or_create(user=rater, study=study, role=Role.RATER)
    opened = fields.pop("opened_at", T0)
    assessment = Assessment.objects.create(
        study=study,
        image=image,
        rater=rater,
        repeat_index=repeat_index,
        status=fields.pop("status", AssessmentStatus.SUBMITTED),
        opened_at=opened,
        first_rendered_at=opened + timedelta(milliseconds=300),
        submitted_at=opened + timedelta(seconds=9),
        active_ms=active_ms,
        **fields,
    )
    for key, value in values.items():
        Rating.objects.create(
            assessment=assessment, dimension=study.dimensions.get(key=key), value=value
        )
    return assessment


def revise(assessment, key: str, new_value: int) -> None:
    """Change a rating the way the platform does: the old value is kept as a revision."""
    rating = assessment.ratings.get(dimension__key=key)
    RatingRevision.objects.create(rating=rating, value=rating.value, valid_from=rating.created_at)
    rating.value = new_value
    rating.save()


def rate_everything(study, raters, seed: int = 0) -> None:
    """Every rater rates every image on every dimension with reproducible, spread values."""
    dims = list(study.dimensions.all())
    images = list(study.images.order_by("pk"))
    for r, rater in enumerate(raters):
        for i, image in enumerate(images):
            values = {}
            for d in dims:
                span = d.max_value - d.min_value + 1
                values[d.key] = d.min_value + (i * 7 + r * 3 + seed + d.pk) % span
            rate(study, rater, image, values, active_ms=1000 + 37 * i + 101 * r)


def attach_dicom(image, media_root, name: str = "CT_small.dcm"):
    """Give an image a real DICOM file (one of pydicom's test files) under MEDIA_ROOT."""
    import hashlib
    import shutil
    from pathlib import Path

    from pydicom.data import get_testdata_file

    from tests.factories import make_image_file

    relative = f"dicom/{image.pk}-{name}"
    target = Path(media_root) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(get_testdata_file(name), target)
    data = target.read_bytes()
    return make_image_file(
        image,
        file_name=relative,
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
    )
