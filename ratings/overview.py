"""What the home page shows of a study to those who follow it: readings done, raters finished."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count

from .models import Assessment, AssessmentStatus, Membership, ReaderStudy, Role, StudyImage

FINISHED = (AssessmentStatus.SUBMITTED, AssessmentStatus.SKIPPED)


@dataclass(frozen=True)
class StudyProgress:
    n_images: int
    n_raters: int
    done: int  # first readings finished, summed over raters (each capped at n_images)
    raters_finished: int  # raters who finished every image

    @property
    def total(self) -> int:
        return self.n_images * self.n_raters

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def study_progress(studies: Iterable[ReaderStudy]) -> dict[int, StudyProgress]:
    """Progress of every study given, in three queries whatever their number."""
    ids = [s.pk for s in studies]
    n_images = dict(
        StudyImage.objects.filter(study_id__in=ids)
        .values("study_id")
        .annotate(n=Count("pk"))
        .values_list("study_id", "n")
    )
    raters: dict[int, set[int]] = defaultdict(set)
    for study_id, user_id in Membership.objects.filter(
        study_id__in=ids, role=Role.RATER
    ).values_list("study_id", "user_id"):
        raters[study_id].add(user_id)
    finished: dict[tuple[int, int], int] = {
        (study_id, rater_id): n
        for study_id, rater_id, n in Assessment.objects.filter(
            study_id__in=ids, repeat_index=0, status__in=FINISHED
        )
        .values("study_id", "rater_id")
        .annotate(n=Count("pk"))
        .values_list("study_id", "rater_id", "n")
    }
    out = {}
    for pk in ids:
        images = n_images.get(pk, 0)
        counts = [min(finished.get((pk, r), 0), images) for r in raters[pk]]
        out[pk] = StudyProgress(
            n_images=images,
            n_raters=len(counts),
            done=sum(counts),
            raters_finished=sum(1 for c in counts if images and c >= images),
        )
    return out
