"""The head-CT route as a training run: image-quality metrics of each image, then ordinary
least squares of the MOS on them (inference/iqm.py, inference/iqm_regression.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from inference.iqm import METRIC_NAMES, compute_iqms
from inference.iqm_regression import (
    IQMRegression,
    fit_iqm_regression,
    forward_select,
    usable_metrics,
)
from inference.preprocess import PreprocessConfig, decode, prepare

from .config import TrainConfig
from .metrics import regression_metrics


def metric_table(config: TrainConfig, files) -> np.ndarray:
    """Images x metrics, each metric computed on the display image at the configured size."""
    prep = PreprocessConfig(width=config.input_width, height=config.input_height)
    rows = []
    for path in files:
        image = prepare(decode(path), prep)[0].numpy()
        values = compute_iqms(image)
        rows.append([values[name] for name in METRIC_NAMES])
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(METRIC_NAMES))


# Not in the abstract: with few rated images, 17 metrics overfit. Metrics enter one at a
# time, each the one that most lowers the leave-one-out prediction error on the training images
# (PRESS, Allen 1974), until none lowers it; and, as the usual rule of ten observations per
# predictor, a fit on n images keeps at most n // 10 of them (at least one).
IMAGES_PER_METRIC = 10


def choose_metrics(table: np.ndarray, mos: np.ndarray) -> tuple[str, ...]:
    usable, _ = usable_metrics(table, METRIC_NAMES)
    limit = max(1, min(len(usable), len(mos) // IMAGES_PER_METRIC))
    return forward_select(table, mos, METRIC_NAMES, usable, limit)


def fit_and_score(
    config: TrainConfig, dimension_key: str, parts: Mapping[str, Any]
) -> tuple[IQMRegression, dict[str, Any]]:
    """Fit on the training part; the fit's explanation and each other part's agreement."""
    train = parts["train"]
    table = metric_table(config, train.files)
    mos = np.asarray(train.targets, dtype=np.float64)
    model = fit_iqm_regression(
        table, METRIC_NAMES, {dimension_key: mos},
        features={dimension_key: choose_metrics(table, mos)},
    )  # fmt: skip
    metrics: dict[str, Any] = {"explain": model.explain()}
    for part, name in (("val", "validation"), ("test", "test"), ("out_of_site", "out_of_site")):
        if part in parts:
            predicted = model.predict(metric_table(config, parts[part].files))[dimension_key]
            metrics[name] = regression_metrics(predicted, parts[part].targets)
    return model, metrics
