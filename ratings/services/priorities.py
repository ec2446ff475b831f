"""Putting chosen images at the front of every rater's worklist (StudyImage.priority).

The active-learning side (inference) decides which images; this is the one place that writes
priorities, so ratings never needs to know why. Raters see the new order, never a reason.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Max

from ..models import ReaderStudy, StudyImage


class NotInStudy(ValueError):
    """Some of the images are not in the study."""


def prioritise(study: ReaderStudy, image_ids: Iterable[int]) -> int:
    """Give the images a priority above every other image of the study and return it.

    Each call goes one above the current highest, so the latest images sent come first and
    earlier ones keep their lead over the rest. Within one call the images share a priority,
    so each rater still meets them in their own shuffled order (no order effect shared by all).
    """
    wanted = set(image_ids)
    if not wanted:
        raise NotInStudy("no images to prioritise")
    with transaction.atomic():
        rows = StudyImage.objects.select_for_update().filter(study=study)
        present = set(rows.filter(image_id__in=wanted).values_list("image_id", flat=True))
        missing = wanted - present
        if missing:
            raise NotInStudy(f"image(s) {sorted(missing)} are not in study {study.pk}")
        top = rows.aggregate(top=Max("priority"))["top"] or 0
        priority = top + 1
        rows.filter(image_id__in=wanted).update(priority=priority)
    return priority
