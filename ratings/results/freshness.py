"""The results version of a study: bumped by every change the results depend on.

The dashboard serves a snapshot computed in the background (``snapshot.py``); this module says
when that snapshot went stale and asks a worker to refresh it. Call ``bump`` in the transaction
that changes ratings (bulk writes send no signals); instance saves and deletes of assessments,
ratings, dimensions, raters' profiles and memberships bump through the receivers below.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from ..models import (
    Assessment,
    Dimension,
    Membership,
    RaterProfile,
    Rating,
    ReaderStudy,
    Role,
    StudyResults,
)

logger = logging.getLogger(__name__)

REFRESH_TASK = "ratings.refresh_study_results"
# A refresh queued this long ago that never started is taken to be lost (broker restarted,
# message dropped): the next change or page view queues another.
QUEUED_STALE_AFTER = timedelta(minutes=10)


def bump(*study_ids: int) -> None:
    """Mark the studies' results stale; a background refresh is requested after commit."""
    ids = sorted(set(study_ids))
    if not ids:
        return
    StudyResults.objects.filter(study_id__in=ids).update(version=F("version") + 1)
    for study_id in ids:
        # robust: the change is committed by then; a broker hiccup must not turn it into a 500.
        transaction.on_commit(lambda s=study_id: request_refresh(s), robust=True)


def request_refresh(study_id: int) -> bool:
    """Queue one refresh of the study's snapshot unless one is already waiting; True if queued."""
    from iqa_platform.celery import enqueue

    now = timezone.now()
    waiting = Q(refresh_queued_at__isnull=True) | Q(refresh_queued_at__lt=now - QUEUED_STALE_AFTER)
    if not StudyResults.objects.filter(waiting, study_id=study_id).update(refresh_queued_at=now):
        return False
    try:
        enqueue(REFRESH_TASK, study_id=study_id)
    except Exception:
        StudyResults.objects.filter(study_id=study_id, refresh_queued_at=now).update(
            refresh_queued_at=None
        )
        raise
    return True


def results_of(study: ReaderStudy) -> StudyResults:
    """The study's results row (one query), created for a study that has none; a refresh is
    requested when the snapshot is behind and none is waiting. Never computes anything."""
    row = StudyResults.objects.filter(study=study).first()
    if row is None:
        row, _ = StudyResults.objects.get_or_create(study=study)
    stale_queue = row.refresh_queued_at is None or (
        row.refresh_queued_at < timezone.now() - QUEUED_STALE_AFTER
    )
    if not row.is_current and stale_queue:
        transaction.on_commit(lambda: request_refresh(study.pk), robust=True)
    return row


# --- receivers: instance writes (admin, services that save one row) --------------------------


def _study_deleted(kwargs) -> bool:
    # Deleting a whole study deletes its rows one by one: nothing is left to mark stale.
    return isinstance(kwargs.get("origin"), ReaderStudy)


@receiver(post_save, sender=ReaderStudy)
def _new_study(sender, instance: ReaderStudy, created: bool, raw: bool = False, **kwargs):
    if created and not raw:
        StudyResults.objects.get_or_create(study=instance)


@receiver(post_save, sender=Assessment)
@receiver(post_delete, sender=Assessment)
@receiver(post_save, sender=Dimension)
@receiver(post_delete, sender=Dimension)
def _study_row_changed(sender, instance, raw: bool = False, **kwargs):
    if not raw and not _study_deleted(kwargs):
        bump(instance.study_id)


@receiver(post_save, sender=Rating)
def _rating_saved(sender, instance: Rating, raw: bool = False, **kwargs):
    # A rating is deleted only with its assessment or dimension (both bump) or in the admin
    # (RatingAdmin bumps); a save comes from an edit.
    if raw:
        return
    if "assessment" in instance._state.fields_cache:
        bump(instance.assessment.study_id)
    else:
        bump(*Dimension.objects.filter(pk=instance.dimension_id).values_list("study_id", flat=True))


@receiver(post_save, sender=Membership)
@receiver(post_delete, sender=Membership)
def _membership_changed(sender, instance: Membership, raw: bool = False, **kwargs):
    if not raw and instance.role == Role.RATER and not _study_deleted(kwargs):
        bump(instance.study_id)


@receiver(post_save, sender=RaterProfile)
@receiver(post_delete, sender=RaterProfile)
def _profile_changed(sender, instance: RaterProfile, raw: bool = False, **kwargs):
    # Pseudonyms and professions name the raters in every report the user rates in.
    if not raw:
        bump(
            *Membership.objects.filter(user_id=instance.user_id, role=Role.RATER).values_list(
                "study_id", flat=True
            )
        )
