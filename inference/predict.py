"""Scoring images with a model version: the same preprocessing as its training, one image at a
time, with an MC-dropout uncertainty where the network has dropout."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from django.conf import settings

from imaging.models import Image
from imaging.services import representative_files
from ratings.services.labels import study_labels

from .iqm_regression import IQMRegression
from .models import Architecture, ModelVersion, Target
from .preprocess import load_one
from .runs import preprocess_config
from .training import iqm_fit
from .training.config import TrainConfig
from .training.engine import load_checkpoint, outputs

MC_PASSES = 10
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prediction:
    image_id: int
    label: str
    score: float | None  # the regression score, or the predicted class index
    probabilities: list[float] | None  # classifiers: one per class
    uncertainty: float | None  # MC-dropout SD of the score (regression) or entropy (classes)


class Predictor:
    """A loaded model version that scores DICOM files."""

    def __init__(self, version: ModelVersion) -> None:
        self.version = version
        self.config = TrainConfig.from_dict(version.config)
        path = Path(settings.MEDIA_ROOT) / version.checkpoint
        if version.arch == Architecture.IQM_LINEAR:
            self.iqm = IQMRegression.load(path)
            self.model = None
        else:
            self.iqm = None
            self.model = load_checkpoint(path).model.eval()
        self.prep = preprocess_config(self.config)
        self.forward_kind = "eager"
        self.forward = self._fast_forward()

    def _fast_forward(self):
        """CaHDC-RGA's fast CPU form (inference/fast.py, the same scores within 1e-4) for the
        score itself; MC-dropout passes stay on the eager model, the only one that samples."""
        if self.version.arch != Architecture.CAHDC_RGA:
            return lambda x: outputs(self.model, x)
        try:
            from .fast import DEFAULT_VARIANT, fast_cahdc

            fast = fast_cahdc(self.model, DEFAULT_VARIANT)
        except (ImportError, RuntimeError, ValueError) as exc:
            logger.warning("version %s scores eagerly: %s", self.version.pk, exc)
            return lambda x: outputs(self.model, x)
        self.forward_kind = DEFAULT_VARIANT
        return lambda x: fast(x).score

    @torch.inference_mode()
    def score_file(self, path: Path) -> tuple[float, list[float] | None, float | None]:
        if self.iqm is not None:
            table = iqm_fit.metric_table(self.config, [path])
            return float(self.iqm.predict(table)[self.version.dimension_key][0]), None, None
        x = load_one(path, self.prep)
        out = self.forward(x)
        if self.version.target == Target.REGRESSION:
            return float(out[0]), None, self._mc_sd(x)
        probabilities = out.softmax(dim=1)[0]
        entropy = -float((probabilities * probabilities.clamp_min(1e-12).log()).sum())
        return float(probabilities.argmax()), probabilities.tolist(), entropy

    def _mc_sd(self, x: torch.Tensor) -> float | None:
        """SD of the score over MC_PASSES passes with dropout on (Gal & Ghahramani 2016)."""
        if not self.config.dropout:
            return None
        dropouts = [m for m in self.model.modules() if isinstance(m, torch.nn.Dropout)]
        for module in dropouts:
            module.train()
        try:
            scores = [float(outputs(self.model, x)[0]) for _ in range(MC_PASSES)]
        finally:
            for module in dropouts:
                module.eval()
        sd = float(np.std(scores, ddof=1))
        return sd if math.isfinite(sd) else None


def predict_study(version: ModelVersion, study, part: str = "") -> Iterator[Prediction]:
    """Every image of the study (or of one part of the version's split), scored."""
    predictor = Predictor(version)
    labels = study_labels(study, version.dimension_key, version.split)
    images = [image for image in labels.images if not part or image.part == part]
    files = representative_files(image.image_id for image in images)
    for image in images:
        if image.image_id not in files:
            raise Image.DoesNotExist(f"image {image.image_id} has no file")
        score, probabilities, uncertainty = predictor.score_file(files[image.image_id])
        yield Prediction(image.image_id, image.label, score, probabilities, uncertainty)
