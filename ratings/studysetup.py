"""Setting up a reader study: create it, choose its images, add members; refuse what loses data."""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.db.models import QuerySet

from imaging.models import Dataset, Image

from .models import (
    DimensionKind,
    Membership,
    RaterProfile,
    ReaderStudy,
    Role,
    StudyImage,
)
from .protection import Protected, check_images_leave_study, check_membership_delete
from .results.freshness import bump


class SetupError(ValueError):
    """A setup step that cannot be done as asked; the message says why and what to do."""


# Callers catch both: a refusal to lose readings is a setup step that cannot be done too.
SETUP_ERRORS = (SetupError, Protected)


class ImagePick(models.TextChoices):
    """How images are chosen from the study's dataset."""

    ALL = "all", "All images of the dataset"
    MODALITY = "modality", "All images of one modality"
    SAMPLE = "sample", "A random sample of N images"
    LABELS = "labels", "The images with these labels"


def split_words(text: str) -> list[str]:
    """Names typed one per line, or separated by commas / spaces, in order, without repeats."""
    seen: dict[str, None] = {}
    for word in re.split(r"[\s,;]+", text or ""):
        if word:
            seen.setdefault(word, None)
    return list(seen)


@transaction.atomic
def create_study(creator, **fields) -> ReaderStudy:
    """A new study; its creator becomes its first coordinator so they can go on setting it up.

    `creator` is None for a study made on the command line (no one is logged in there).
    """
    study = ReaderStudy.objects.create(created_by=creator, **fields)
    if creator is not None:
        Membership.objects.create(user=creator, study=study, role=Role.COORDINATOR)
    return study


def repeat_fraction_problem(share: float) -> str:
    """What is wrong with a study's share of repeated images ("" if nothing)."""
    return "" if 0 <= share <= 1 else "Give a share between 0 and 1, e.g. 0.1 for 10%."


@dataclass(frozen=True)
class Scale:
    """A dimension's stored range and category labels, and what is wrong with them, by field
    (`min_value`, `max_value`, `categories`)."""

    min_value: int | None
    max_value: int | None
    categories: list[str]
    problems: dict[str, str]


def dimension_scale(kind: str, low: int | None, high: int | None, categories: list[str]) -> Scale:
    """The scale a dimension of `kind` gets: binary is 0/1, categories are indices 0..n-1
    (given range ignored), a score keeps the range given, which must rise."""
    if kind == DimensionKind.CATEGORY:
        problems = {}
        if len(categories) < 2:
            problems["categories"] = "Give at least two category labels."
        elif len(set(categories)) != len(categories):
            problems["categories"] = "Each category label must be different."
        return Scale(0, max(len(categories) - 1, 0), list(categories), problems)
    if kind == DimensionKind.BINARY:
        return Scale(0, 1, [], {})
    if low is None or high is None:
        return Scale(low, high, [], {"max_value": "Give the lowest and the highest score."})
    if low >= high:
        return Scale(low, high, [], {"max_value": "The highest score must be above the lowest."})
    return Scale(low, high, [], {})


def pick_images(
    dataset: Dataset,
    how: str,
    *,
    modality: str = "",
    sample_size: int | None = None,
    seed: int = 0,
    labels: Iterable[str] = (),
) -> list[int]:
    """Ids of the dataset's images chosen by `how` (an ImagePick value), in id order.

    A random sample is drawn with its own seeded generator, so the same seed gives the same
    images again. Unknown labels, an empty choice or a sample larger than the pool raise.
    """
    pool: QuerySet[Image] = dataset.images.order_by("pk")
    if how == ImagePick.MODALITY:
        pool = pool.filter(modality=modality)
    elif how == ImagePick.LABELS:
        wanted = list(labels)
        found = dict(pool.filter(label__in=wanted).values_list("label", "pk"))
        unknown = [label for label in wanted if label not in found]
        if unknown:
            shown = ", ".join(unknown[:10]) + (" ..." if len(unknown) > 10 else "")
            raise SetupError(f"{len(unknown)} label(s) not in dataset {dataset}: {shown}")
        pool = pool.filter(pk__in=found.values())
    ids = list(pool.values_list("pk", flat=True))
    if how == ImagePick.SAMPLE:
        if sample_size is None or sample_size < 1:
            raise SetupError("Give the number of images to draw (at least 1).")
        if sample_size > len(ids):
            raise SetupError(f"Cannot draw {sample_size} images: the dataset has {len(ids)}.")
        ids = sorted(random.Random(seed).sample(ids, sample_size))
    if not ids:
        raise SetupError("No image matches this choice.")
    return ids


@dataclass(frozen=True)
class ImageChange:
    added: int
    removed: int
    total: int


@transaction.atomic
def set_images(study: ReaderStudy, image_ids: list[int], replace: bool) -> ImageChange:
    """Add the images to the study, or make them its whole set when `replace`.

    Replacing never drops an image somebody has already read: those readings would vanish
    from the study's results.
    """
    current = set(study.study_images.values_list("image_id", flat=True))
    wanted = set(image_ids)
    dropped = current - wanted if replace else set()
    if dropped:
        check_images_leave_study(study, dropped)
        StudyImage.objects.filter(study=study, image_id__in=dropped).delete()
    new = wanted - current
    StudyImage.objects.bulk_create(
        [StudyImage(study=study, image_id=pk) for pk in sorted(new)], batch_size=5000
    )
    if new or dropped:
        bump(study.pk)  # the image count is every rater's progress total
    return ImageChange(added=len(new), removed=len(dropped), total=len(current - dropped | new))


def _next_pseudonym() -> str:
    taken = set(RaterProfile.objects.values_list("pseudonym", flat=True))
    n = 1
    while f"R{n:03d}" in taken:
        n += 1
    return f"R{n:03d}"


def find_users(usernames: Iterable[str]) -> list:
    """Active users by username, in the order given; unknown names raise with the full list."""
    names = list(usernames)
    users = {u.get_username(): u for u in get_user_model().objects.filter(username__in=names)}
    unknown = [n for n in names if n not in users or not users[n].is_active]
    if unknown:
        raise SetupError("No active user named " + ", ".join(unknown) + ".")
    return [users[n] for n in names]


@transaction.atomic
def add_members(study: ReaderStudy, users: Iterable, role: str) -> list:
    """Give each user `role` in the study; a new rater gets a pseudonym for reports.

    Returns the users who were added (those who already had the role are left as they were).
    """
    added = []
    for user in users:
        _membership, created = Membership.objects.get_or_create(user=user, study=study, role=role)
        if created:
            added.append(user)
        if role == Role.RATER and not RaterProfile.objects.filter(user=user).exists():
            RaterProfile.objects.create(user=user, pseudonym=_next_pseudonym())
    return added


def remove_member(study: ReaderStudy, membership: Membership) -> None:
    """End a membership. A rater with readings stays; the last coordinator cannot leave."""
    if membership.study_id != study.pk:
        raise SetupError("This membership belongs to another study.")
    check_membership_delete(membership)
    if membership.role == Role.COORDINATOR:
        others = study.memberships.filter(role=Role.COORDINATOR).exclude(pk=membership.pk)
        if not others.exists():
            raise SetupError("A study keeps at least one coordinator: add another one first.")
    membership.delete()
