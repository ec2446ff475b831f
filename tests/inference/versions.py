"""Model versions for tests without training: a tiny untrained network saved as a checkpoint."""

import uuid
from pathlib import Path

from django.conf import settings

from inference.models import ModelVersion, TrainingRun
from inference.training.config import default_config
from inference.training.engine import Checkpoint, make_model, save_checkpoint
from iqa_platform.jobs import JobStatus


def make_version(study, *, arch="convnet4", dimension="gray-level", active=False, **config):
    """A version of `study` whose checkpoint holds a freshly initialised `arch` (seed 0)."""
    import torch

    config.setdefault("input_width", 32)
    config.setdefault("input_height", 48)
    train_config = default_config(arch, **config)
    torch.manual_seed(0)
    run = TrainingRun.objects.create(
        study=study, dimension_key=dimension, target=train_config.target, arch=arch,
        config=train_config.to_dict(), status=JobStatus.SUCCEEDED,
    )  # fmt: skip
    relative = f"versions/test-{run.pk}.pt"
    save_checkpoint(
        Path(settings.MEDIA_ROOT) / relative, Checkpoint(train_config, make_model(train_config))
    )
    return ModelVersion.objects.create(
        run=run, study=study, dimension_key=dimension, arch=arch, target=train_config.target,
        config=train_config.to_dict(), checkpoint=relative, checkpoint_sha256=uuid.uuid4().hex * 2,
        labels_fingerprint="0" * 64, is_active=active,
    )  # fmt: skip


def make_iqm_version(study, *, dimension="gray-level"):
    """A head-CT-paper IQM linear model fitted on the study's images against a made-up MOS."""
    import numpy as np

    from imaging.services import representative_files
    from inference.iqm import METRIC_NAMES
    from inference.iqm_regression import fit_iqm_regression
    from inference.training.iqm_fit import choose_metrics, metric_table

    config = default_config("iqm-linear", input_width=32, input_height=48)
    files = list(representative_files(study.images.values_list("pk", flat=True)).values())
    table = metric_table(config, files)
    mos = np.linspace(2.0, 9.0, len(files))
    model = fit_iqm_regression(
        table, METRIC_NAMES, {dimension: mos}, features={dimension: choose_metrics(table, mos)}
    )
    run = TrainingRun.objects.create(
        study=study, dimension_key=dimension, target="regression", arch="iqm-linear",
        config=config.to_dict(), status=JobStatus.SUCCEEDED,
    )  # fmt: skip
    relative = f"versions/test-{run.pk}.json"
    path = Path(settings.MEDIA_ROOT) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return ModelVersion.objects.create(
        run=run, study=study, dimension_key=dimension, arch="iqm-linear", target="regression",
        config=config.to_dict(), checkpoint=relative, checkpoint_sha256=uuid.uuid4().hex * 2,
        labels_fingerprint="0" * 64,
    )  # fmt: skip
