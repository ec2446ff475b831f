"""Stored predictions as jobs: create an inference job (checked, queued on commit), run it once,
score its images in batches with one loaded model, store one Prediction per image and version.

Who asks: a researcher (trigger "manual": a study, one part of its split, or a whole dataset)
or an import (trigger "import", inference/realtime.py: exactly the new images).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from typing import Any

from django.db import transaction
from django.db.models import Q

from imaging.models import Dataset, Image
from imaging.services import representative_files
from iqa_platform import celery
from iqa_platform.jobs import JobContext, JobError, run_job
from ratings.models import ReaderStudy, StudyImage
from ratings.results.splits import split_subsets

from .models import InferenceJob, InferenceTrigger, ModelVersion, Prediction, Target
from .predict import Predictor

logger = logging.getLogger(__name__)
TASK = "inference.run_inference"
BATCH_SIZE = 32
PARTS = ("train", "val", "test")
# A worker keeps the last few loaded versions: real-time QC scores one image per job, and
# loading a checkpoint costs more than scoring one radiograph.
_LOADED: dict[tuple[int, str, str], Predictor] = {}
_KEEP_LOADED = 2


class JobRejected(ValueError):
    """An inference job that cannot be made: {field: [problems]}."""

    def __init__(self, problems: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in problems.items()))
        self.problems = problems


def enqueue(job_id: int) -> None:
    celery.enqueue(TASK, job_id=job_id)


def qc_value(version: ModelVersion, score: float, probabilities: list[float] | None) -> float:
    """What the QC threshold is compared with: the regression score; for a classifier the
    probability that the image is in an acceptable class, 1 - P(the lowest class) (binary:
    P(acceptable); the MRI paper's 3 classes: P(diagnostic or excellent))."""
    if version.target == Target.REGRESSION or not probabilities:
        return float(score)
    return float(1.0 - probabilities[0])


def is_flagged(version: ModelVersion, value: float) -> bool:
    return version.qc_threshold is not None and value < version.qc_threshold


def set_qc_threshold(version: ModelVersion, threshold: float | None) -> int:
    """Store the version's threshold and flag its stored predictions again by it; returns how
    many are flagged now."""
    with transaction.atomic():
        ModelVersion.objects.filter(pk=version.pk).update(qc_threshold=threshold)
        version.qc_threshold = threshold
        stored = Prediction.objects.filter(model_version=version)
        if threshold is None:
            stored.update(flagged=False)
            return 0
        stored.filter(qc_value__lt=threshold).update(flagged=True)
        stored.filter(qc_value__gte=threshold).update(flagged=False)
        return stored.filter(flagged=True).count()


def create_job(
    version: ModelVersion,
    *,
    study: ReaderStudy | None = None,
    dataset: Dataset | None = None,
    part: str = "",
    image_ids: list[int] | None = None,
    trigger: str = InferenceTrigger.MANUAL,
    user=None,
    queue: bool = True,
) -> InferenceJob:
    """Check the scope, store a pending job and queue it once the transaction commits."""
    problems: dict[str, list[str]] = {}
    if study is not None and dataset is not None:
        problems["study"] = ["Score a study or a dataset, not both."]
    if part and part not in PARTS:
        problems["part"] = [f"Choose one of {', '.join(PARTS)} (or nothing: every image)."]
    elif part and version.split_id is None:
        problems["part"] = ["This version was trained without a split: it has no parts."]
    elif part and dataset is not None:
        problems["part"] = ["A part belongs to a study's split; score the study."]
    elif part and study is not None and study.pk != version.study_id:
        problems["part"] = ["A part belongs to the version's own study's split."]
    if study is None and dataset is None and not image_ids:
        study = version.study
    if problems:
        raise JobRejected(problems)
    with transaction.atomic():
        job = InferenceJob.objects.create(
            model_version=version,
            study=study,
            dataset=dataset,
            part=part,
            image_ids=sorted(set(image_ids or [])),
            trigger=trigger,
            created_by=user,
        )
        if queue:
            transaction.on_commit(lambda: enqueue(job.pk))
    return job


def job_images(job: InferenceJob) -> list[int]:
    """The ids of the images the job scores, in id order."""
    if job.image_ids:
        images = Image.objects.filter(pk__in=job.image_ids)
        if job.dataset_id is not None:
            images = images.filter(dataset_id=job.dataset_id)
        return sorted(images.values_list("pk", flat=True))
    if job.dataset_id is not None:
        return list(Image.objects.filter(dataset_id=job.dataset_id).values_list("pk", flat=True))
    ids = StudyImage.objects.filter(study_id=job.study_id).values_list("image_id", flat=True)
    ids = sorted(ids)
    if job.part:
        version = job.model_version
        parts = split_subsets(version.split) if version.split is not None else {}
        ids = [image_id for image_id in ids if parts.get(image_id) == job.part]
    return ids


# ------------------------------------------------------------------ the worker's side


def run_inference(job_id: int) -> None:
    run_job(InferenceJob, job_id, _score)


def predictor_for(version: ModelVersion) -> Predictor:
    """The version loaded once per worker process (the checkpoint never changes: its hash
    is part of the key)."""
    key = (version.pk, version.checkpoint, version.checkpoint_sha256)
    predictor = _LOADED.pop(key, None) or Predictor(version)
    _LOADED[key] = predictor  # most recently used last
    while len(_LOADED) > _KEEP_LOADED:
        _LOADED.pop(next(iter(_LOADED)))
    return predictor


def _score(context: JobContext) -> dict[str, Any]:
    job = InferenceJob.objects.select_related("model_version", "model_version__split").get(
        pk=context.job.pk
    )
    version = job.model_version
    ids = job_images(job)
    total = len(ids)
    InferenceJob.objects.filter(pk=job.pk).update(n_images=total)
    stored = set(
        Prediction.objects.filter(model_version=version, image_id__in=ids).values_list(
            "image_id", flat=True
        )
    )
    todo = [image_id for image_id in ids if image_id not in stored]
    done = total - len(todo)
    counts = {"n_predicted": 0, "n_flagged": 0, "n_missing": 0}
    missing: list[int] = []
    context.progress(done / total if total else 0.0, force=True, n_images=total, n_done=done)
    predictor = predictor_for(version) if todo else None
    preprocessing = _preprocessing(predictor) if predictor else {}
    for start in range(0, len(todo), BATCH_SIZE):
        batch = todo[start : start + BATCH_SIZE]
        files = representative_files(batch)
        rows = []
        for image_id in batch:
            path = files.get(image_id)
            if path is None:
                missing.append(image_id)
                continue
            began = time.perf_counter()
            score, probabilities, uncertainty = predictor.score_file(path)
            value = qc_value(version, score, probabilities)
            rows.append(
                Prediction(
                    image_id=image_id,
                    model_version=version,
                    job=job,
                    score=score,
                    probabilities=probabilities,
                    uncertainty=uncertainty,
                    qc_value=value,
                    flagged=is_flagged(version, value),
                    seconds=time.perf_counter() - began,
                    preprocessing=preprocessing,
                )
            )
        # A prediction stored meanwhile (a concurrent job of the same version) is kept, and
        # counted by that job: these images had none when this attempt began, so the rows
        # naming this job are the ones it stored.
        Prediction.objects.bulk_create(rows, ignore_conflicts=True)
        mine = Prediction.objects.filter(job=job, image_id__in=[row.image_id for row in rows])
        counts["n_predicted"] += mine.count()
        counts["n_flagged"] += mine.filter(flagged=True).count()
        counts["n_missing"] = len(missing)
        done += len(batch)
        context.progress(done / total, force=done == total, n_done=done, **counts)
    result: dict[str, Any] = {"n_images": total, "n_done": done, **counts}
    if missing and len(missing) == len(todo):
        raise JobError(f"No file to read for any of the {len(missing)} image(s) left to score.")
    if missing:
        shown = ", ".join(str(i) for i in missing[:20])
        result["error"] = f"{len(missing)} image(s) had no file to read: {shown}"
    return result


def _preprocessing(predictor: Predictor) -> dict[str, Any]:
    """The preprocessing the version's predictions use (inference never augments)."""
    prep = asdict(predictor.prep)
    prep.pop("augment", None)
    return {"arch": predictor.version.arch, **prep}


def study_flags(study: ReaderStudy):
    """Flagged predictions of any version of the study on images of its dataset, newest first
    (what the QC page lists)."""
    return (
        Prediction.objects.filter(
            Q(model_version__study=study) & Q(image__dataset_id=study.dataset_id), flagged=True
        )
        .select_related("image", "model_version")
        .order_by("-created_at", "-id")
    )
