"""What a reading protects: the one rule the setup pages, the admin and the API all apply.

Nothing rated is deleted by one click. A dimension, study, image or rater with readings cannot
be deleted (the database says the same: the foreign keys to them from Assessment and Rating are
PROTECT), and a rated dimension keeps its scale, because its stored integers would change
meaning. Closing or archiving a study (ratings/lifecycle.py) is the way to end one.

Each check raises `Protected` with a sentence for a person and a `code` for a program.
"""

from __future__ import annotations

from django.db import transaction

from imaging.models import Dataset, Image

from .models import Assessment, Dimension, Membership, Rating, ReaderStudy, Role, StudyImage


class Protected(ValueError):
    """Refused because it would delete or reinterpret readings."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# --- dimensions ------------------------------------------------------------------------------


def ratings_of(dimension: Dimension) -> int:
    return Rating.objects.filter(dimension=dimension).count() if dimension.pk else 0


def check_dimension_delete(dimension: Dimension) -> None:
    n = ratings_of(dimension)
    if n:
        raise Protected(
            f"{dimension.label} has {_plural(n, 'rating')} and cannot be deleted: "
            "its ratings would go with it. Leave it, or close the study.",
            code="dimension_rated",
        )


def check_dimension_scale(
    dimension: Dimension, *, kind: str, min_value: int, max_value: int, categories: list
) -> None:
    """A rated dimension keeps kind, range and categories: a stored 3 must keep meaning 3."""
    if not dimension.pk:
        return
    original = Dimension.objects.get(pk=dimension.pk)
    changed = (
        kind != original.kind
        or min_value != original.min_value
        or max_value != original.max_value
        or list(categories or []) != list(original.categories)
    )
    if not changed:
        return
    n = ratings_of(original)
    if n:
        raise Protected(
            f"{original.label} has {_plural(n, 'rating')}: its kind, range and categories are "
            "fixed. Add a new dimension instead.",
            code="dimension_rescaled",
        )


def delete_dimension(dimension: Dimension) -> None:
    with transaction.atomic():
        check_dimension_delete(dimension)
        dimension.delete()


# --- studies, images, raters -----------------------------------------------------------------


def check_study_delete(study: ReaderStudy) -> None:
    n = Assessment.objects.filter(study=study).count()
    if n:
        raise Protected(
            f"Study {study.name} has {_plural(n, 'reading')} and cannot be deleted. "
            "Close or archive it instead: its data stays.",
            code="study_rated",
        )


def check_image_delete(image: Image) -> None:
    n = Assessment.objects.filter(image=image).count()
    if n:
        raise Protected(
            f"Image {image.label} has {_plural(n, 'reading')} and cannot be deleted.",
            code="image_rated",
        )


def check_dataset_delete(dataset: Dataset) -> None:
    n = Assessment.objects.filter(image__dataset=dataset).count()
    if n:
        raise Protected(
            f"Dataset {dataset.name} has images with {_plural(n, 'reading')} and cannot be "
            "deleted.",
            code="dataset_rated",
        )


def check_images_leave_study(study: ReaderStudy, image_ids) -> None:
    """Taking images out of a study would drop their readings from its results."""
    n = (
        Assessment.objects.filter(study=study, image_id__in=list(image_ids))
        .values("image_id")
        .distinct()
        .count()
    )
    if n:
        raise Protected(
            f"{_plural(n, 'image')} of this study already have readings and stay in it; "
            "add images instead, or keep those in the new choice.",
            code="image_rated",
        )


def check_study_image_delete(study_image: StudyImage) -> None:
    check_images_leave_study(study_image.study, [study_image.image_id])


def check_membership_delete(membership: Membership) -> None:
    """A rater with readings stays a member: their progress and readings stay in the results."""
    if membership.role != Role.RATER:
        return
    n = Assessment.objects.filter(study_id=membership.study_id, rater_id=membership.user_id).count()
    if n:
        raise Protected(
            f"{membership.user.get_username()} has {_plural(n, 'reading')} in this study and "
            "stays one of its raters. To stop all rating, close the study.",
            code="rater_rated",
        )


def check_user_delete(user) -> None:
    n = Assessment.objects.filter(rater=user).count()
    if n:
        raise Protected(
            f"{user.get_username()} has {_plural(n, 'reading')} and cannot be deleted; "
            "deactivate the account instead (untick Active).",
            code="rater_rated",
        )


CHECKS = {
    Dimension: check_dimension_delete,
    ReaderStudy: check_study_delete,
    Image: check_image_delete,
    Dataset: check_dataset_delete,
    StudyImage: check_study_image_delete,
    Membership: check_membership_delete,
}


def why_not_delete(obj) -> str | None:
    """The reason `obj` may not be deleted, or None. Used where many kinds are deleted (admin)."""
    from django.contrib.auth import get_user_model

    checks = {**CHECKS, get_user_model(): check_user_delete}
    check = checks.get(type(obj))
    if check is None:
        return None
    try:
        check(obj)
    except Protected as refusal:
        return str(refusal)
    return None
