"""Tiny model versions made directly (an untrained net saved as a checkpoint), for tests of what
a version does once it exists: scoring, storing, flagging. Training itself has its own tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from django.conf import settings

from inference.models import ModelVersion, TrainingRun
from inference.training.config import default_config
from inference.training.engine import Checkpoint, make_model, save_checkpoint
from iqa_platform.jobs import JobStatus
from ratings.services.labels import latest_split


def make_version(
    study,
    *,
    arch: str = "convnet4",
    target: str = "regression",
    dimension_key: str = "gray-level",
    dropout: float = 0.0,
    n_classes: int = 1,
    size: tuple[int, int] = (32, 48),
    active: bool = False,
    qc_threshold: float | None = None,
    seed: int = 0,
) -> ModelVersion:
    config = default_config(
        arch, target, n_classes=n_classes, dropout=dropout, input_width=size[0],
        input_height=size[1], seed=seed,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = make_model(config)
    run = TrainingRun.objects.create(
        study=study, dimension_key=dimension_key, target=target, arch=arch,
        config=config.to_dict(), status=JobStatus.SUCCEEDED,
    )  # fmt: skip
    relative = Path("model_versions") / f"test-{run.pk}-{arch}.pt"
    path = Path(settings.MEDIA_ROOT) / relative
    save_checkpoint(path, Checkpoint(config=config, model=model))
    return ModelVersion.objects.create(
        run=run, study=study, dimension_key=dimension_key, arch=arch, target=target,
        config=config.to_dict(), split=latest_split(study), checkpoint=str(relative),
        checkpoint_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        labels_fingerprint="0" * 64, is_active=active, qc_threshold=qc_threshold,
    )  # fmt: skip
