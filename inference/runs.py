"""Training runs as jobs: create one (checked, queued on commit), run it once, make a version.

The run reads the study's expert labels through `ratings.services.labels` and the images'
files through `imaging.services`; the training itself is plain torch (inference/training).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction

from imaging.services import representative_files
from iqa_platform import celery
from iqa_platform.jobs import JobContext, JobError, run_job
from ratings.models import AuditAction, DimensionKind, ReaderStudy, Split
from ratings.services import audit
from ratings.services.labels import LabelledImage, StudyLabels, latest_split, study_labels

from .models import Architecture, HoldOut, ModelVersion, Target, TrainingRun
from .preprocess import Augment, ImageDataset, PreprocessConfig
from .training import iqm_fit
from .training.config import ConfigError, TrainConfig, default_config
from .training.engine import Hooks, score_predictions, train
from .training.engine import evaluate as evaluate_model

logger = logging.getLogger(__name__)
TASK = "inference.run_training"
MIN_TRAIN_IMAGES = 4


class RunRejected(ValueError):
    """A run that cannot be made: {field: [problems]}, every problem at once."""

    def __init__(self, problems: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in problems.items()))
        self.problems = problems


# What a run's page and its API resource show (the page's script polls the API for more).
RUN_FIELDS = (
    "id", "study_id", "dimension_key", "target", "arch", "config", "split_id", "hold_out_by",
    "hold_out", "status", "progress", "error", "attempts", "epoch", "n_epochs", "step",
    "n_steps", "images_per_s", "eta_s", "history", "metrics", "counts",
)  # fmt: skip


def run_state(run: TrainingRun) -> dict[str, Any]:
    """The run as plain JSON-ready data (ids under the API's names: study, split)."""
    data = {field: getattr(run, field) for field in RUN_FIELDS}
    data["study"] = data.pop("study_id")
    data["split"] = data.pop("split_id")
    version = ModelVersion.objects.filter(run=run).values_list("pk", flat=True).first()
    data["model_version"] = version
    for stamp in ("created_at", "started_at", "finished_at"):
        value = getattr(run, stamp)
        data[stamp] = value.isoformat() if value else None
    return data


def enqueue(run_id: int) -> None:
    celery.enqueue(TASK, job_id=run_id)


def run_dir(run: TrainingRun) -> Path:
    return Path(settings.MEDIA_ROOT) / "training" / str(run.pk)


@dataclass(frozen=True)
class RunRequest:
    study: ReaderStudy
    dimension_key: str
    arch: str
    target: str | None = None
    split: Split | None = None
    hold_out_by: str = ""
    hold_out: tuple[str, ...] = ()
    settings: dict[str, Any] | None = None  # TrainConfig fields overriding the defaults


def create_run(request: RunRequest, user=None, *, queue: bool = True) -> TrainingRun:
    """Check everything, then store a pending run and queue it once the transaction commits
    (`queue=False`: the caller runs it itself, as `manage.py train` does)."""
    problems: dict[str, list[str]] = {}
    dimension = request.study.dimensions.filter(key=request.dimension_key).first()
    if dimension is None:
        problems["dimension"] = [f"The study has no dimension {request.dimension_key!r}."]
    target = request.target or _default_target(dimension)
    if request.arch not in Architecture.values:
        problems["arch"] = [f"Choose one of {', '.join(Architecture.values)}."]
    if target not in Target.values:
        problems["target"] = [f"Choose one of {', '.join(Target.values)}."]
    elif dimension is not None and not _target_fits(target, dimension.kind):
        problems["target"] = [f"A {dimension.kind} dimension cannot be a {target} target."]
    if request.split is not None and request.split.study_id != request.study.pk:
        problems["split"] = ["That split belongs to another study."]
    if request.hold_out_by not in HoldOut.values:
        problems["hold_out_by"] = ["Choose site or manufacturer (or nothing)."]
    elif request.hold_out and not request.hold_out_by:
        problems["hold_out_by"] = ["Say what the held-out values are: site or manufacturer."]
    config = None
    if not problems:
        n_classes = 1
        if target != Target.REGRESSION:
            n_classes = dimension.max_value - dimension.min_value + 1
        try:
            config = default_config(
                request.arch, target, n_classes=n_classes, **(request.settings or {})
            )
        except ConfigError as exc:
            problems["settings"] = [str(exc)]
        if config and config.arch == Architecture.CAHDC_RGA and dimension.min_value < 1:
            problems["arch"] = ["CaHDC-RGA's loss weighs by 1/MOS: it needs scores from 1 up."]
    if problems:
        raise RunRejected(problems)
    split = request.split or latest_split(request.study)
    with transaction.atomic():
        run = TrainingRun.objects.create(
            study=request.study,
            dimension_key=dimension.key,
            target=target,
            arch=request.arch,
            config=config.to_dict(),
            split=split,
            hold_out_by=request.hold_out_by,
            hold_out=list(request.hold_out),
            n_epochs=config.epochs,
            created_by=user,
        )
        audit.record(
            AuditAction.TRAINING_RUN_LAUNCHED,
            actor=user,
            study=request.study,
            object_type="training_run",
            object_id=run.pk,
            details={
                "dimension_key": run.dimension_key,
                "arch": run.arch,
                "target": run.target,
                "split": split.pk if split else None,
                "hold_out_by": run.hold_out_by,
                "n_epochs": run.n_epochs,
            },
        )
        if queue:
            transaction.on_commit(lambda: enqueue(run.pk))
    return run


def _default_target(dimension) -> str:
    if dimension is None or dimension.kind == DimensionKind.SCORE:
        return Target.REGRESSION
    return Target.BINARY if dimension.kind == DimensionKind.BINARY else Target.CATEGORY


def _target_fits(target: str, kind: str) -> bool:
    return {
        Target.REGRESSION: kind == DimensionKind.SCORE,
        Target.BINARY: kind == DimensionKind.BINARY,
        Target.CATEGORY: kind in (DimensionKind.CATEGORY, DimensionKind.BINARY),
    }[target]


# ------------------------------------------------------------------ the worker's side


def run_training(run_id: int) -> None:
    run_job(TrainingRun, run_id, _train)


@dataclass
class PartData:
    files: list[Path]
    targets: np.ndarray
    images: list[LabelledImage]


def _target_of(labels: StudyLabels, image: LabelledImage, target: str) -> float | int | None:
    if target == Target.REGRESSION:
        return image.mos
    if image.majority is None:
        return None  # a tie or no votes: no label to learn from
    return labels.classes.index(image.majority)


def split_parts(run: TrainingRun, labels: StudyLabels) -> dict[str, PartData]:
    """Images per part: train / val / test from the split, minus held-out groups, which form
    "out_of_site". Without a split, everything rated trains (no validation)."""
    group_of = {"site": "site_key", "manufacturer": "manufacturer"}.get(run.hold_out_by)
    held = set(run.hold_out)
    parts: dict[str, PartData] = {}
    rated = labels.rated()
    files = representative_files(image.image_id for image in rated)
    for image in rated:
        value = _target_of(labels, image, run.target)
        if value is None:
            continue
        part = image.part or ("train" if run.split_id is None else "")
        if not part:
            continue  # rated after the split was made: in no part
        if group_of and getattr(image, group_of) in held:
            part = "out_of_site"
        data = parts.setdefault(part, PartData([], np.array([]), []))
        data.images.append(image)
        data.files.append(files[image.image_id])
    for data in parts.values():
        data.targets = np.array(
            [_target_of(labels, image, run.target) for image in data.images],
            dtype=np.float32 if run.target == Target.REGRESSION else np.int64,
        )
    return parts


def labels_fingerprint(parts: dict[str, PartData]) -> str:
    rows = sorted(
        (part, image.image_id, float(target))
        for part, data in parts.items()
        for image, target in zip(data.images, data.targets.tolist(), strict=True)
    )
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def code_version() -> str:
    """The git commit the worker runs (or the package version where there is no git)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _train(context: JobContext) -> dict[str, Any]:
    run = TrainingRun.objects.select_related("study", "split").get(pk=context.job.pk)
    config = TrainConfig.from_dict(run.config)
    labels = study_labels(run.study, run.dimension_key, run.split)
    parts = split_parts(run, labels)
    train_part = parts.get("train")
    if train_part is None or len(train_part.files) < MIN_TRAIN_IMAGES:
        have = 0 if train_part is None else len(train_part.files)
        raise JobError(
            f"Only {have} rated image(s) in the training part; at least {MIN_TRAIN_IMAGES} "
            "are needed (rate more images, or make a split that gives training more)."
        )
    counts = {part: len(data.files) for part, data in parts.items()}
    TrainingRun.objects.filter(pk=run.pk).update(counts=counts)
    folder = run_dir(run)
    folder.mkdir(parents=True, exist_ok=True)
    if config.arch == Architecture.IQM_LINEAR:
        context.progress(0.0, force=True, epoch=0)
        model, metrics = iqm_fit.fit_and_score(config, run.dimension_key, parts)
        version_file = folder / "model.json"
        version_file.write_text(model.to_json())
        return _make_version(run, config, metrics, parts, version_file)

    def on_step(step: int, total: int, speed: float) -> None:
        eta = (total - step) / speed * config.batch_size if speed > 0 else None
        context.progress(
            step / total if total else 0.0,
            step=step,
            n_steps=total,
            images_per_s=round(speed, 3),
            eta_s=round(eta, 1) if eta is not None and math.isfinite(eta) else None,
        )

    def on_epoch(report: dict[str, Any]) -> None:
        history = list(TrainingRun.objects.get(pk=run.pk).history)
        history = [h for h in history if h["epoch"] < report["epoch"]] + [_jsonable(report)]
        context.progress(
            report["epoch"] / config.epochs, force=True, epoch=report["epoch"], history=history
        )

    data = {part: _dataset(config, part_data, part == "train") for part, part_data in parts.items()}
    best = train(
        config,
        data["train"],
        data.get("val"),
        folder / "last.pt",
        Hooks(on_step=on_step, on_epoch=on_epoch),
    )
    metrics = {}
    for part, name in (("val", "validation"), ("test", "test"), ("out_of_site", "out_of_site")):
        if part in data:
            _, predictions = evaluate_model(best.model, config, data[part])
            metrics[name] = score_predictions(config, predictions, data[part].targets.numpy())
    metrics["best_epoch"] = best.best_epoch
    return _make_version(run, config, metrics, parts, folder / "best.pt", history=best.history)


def preprocess_config(config: TrainConfig) -> PreprocessConfig:
    """The one preprocessing of this model, for its training batches and its predictions."""
    return PreprocessConfig(
        width=config.input_width, height=config.input_height, augment=Augment(**config.augment)
    )


def _dataset(config: TrainConfig, part: PartData, training: bool) -> ImageDataset:
    return ImageDataset(
        part.files, part.targets, preprocess_config(config), train=training, seed=config.seed
    )


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=float))


def _make_version(
    run: TrainingRun,
    config: TrainConfig,
    metrics: dict[str, Any],
    parts: dict[str, PartData],
    source: Path,
    history: list | None = None,
) -> dict[str, Any]:
    """Freeze the run's best weights as a version: a file of its own that never changes."""
    versions = Path(settings.MEDIA_ROOT) / "model_versions"
    versions.mkdir(parents=True, exist_ok=True)
    final = versions / f"run-{run.pk}-{run.arch}{source.suffix}"
    shutil.copyfile(source, final)
    digest = hashlib.sha256(final.read_bytes()).hexdigest()
    metrics = _jsonable(metrics)
    ModelVersion.objects.update_or_create(
        run=run,
        defaults={
            "study": run.study,
            "dimension_key": run.dimension_key,
            "arch": run.arch,
            "target": run.target,
            "config": config.to_dict(),
            "split": run.split,
            "metrics": metrics,
            "checkpoint": str(final.relative_to(settings.MEDIA_ROOT)),
            "checkpoint_sha256": digest,
            "checkpoint_bytes": final.stat().st_size,
            "code_version": code_version(),
            "labels_fingerprint": labels_fingerprint(parts),
            "created_by": run.created_by,
        },
    )
    fields: dict[str, Any] = {"metrics": metrics, "epoch": config.epochs}
    if history is not None:
        fields["history"] = _jsonable(history)
    return fields
