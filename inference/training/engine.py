"""The training loop, evaluation and checkpoints, in plain torch (after nanoGPT's train.py).

One `load_checkpoint()` serves training (resume), inference and export. A checkpoint holds
the config it was trained with, the model's and the optimizer's state, the step, the epoch,
the best validation loss, the per-epoch history and the RNG state, so a retried run resumes
where it stopped and ends with the same weights as one that never stopped: each epoch's order,
augmentation and patches come from generators seeded by (seed, epoch).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from inference.losses import cahdc_loss
from inference.nets import build_model
from inference.patches import random_patches
from inference.preprocess import ImageDataset
from inference.schedule import ADAM_BETAS, ADAM_EPS, lr_at
from inference.targets import balanced_sampler, class_weights

from .config import TrainConfig
from .metrics import classification_metrics, regression_metrics

CHECKPOINT_FORMAT = 1


@dataclass
class Hooks:
    """Callbacks to the outside world (a job's progress, a progress bar); all optional."""

    # (steps done, steps in the run, images per second); may raise to stop the run.
    on_step: Callable[[int, int, float], None] = lambda step, total, speed: None
    on_epoch: Callable[[dict[str, Any]], None] = lambda report: None


@dataclass
class Checkpoint:
    config: TrainConfig
    model: nn.Module
    epoch: int = 0  # epochs completed
    step: int = 0
    best_val_loss: float = math.inf
    best_epoch: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    optimizer_state: dict | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def make_model(config: TrainConfig) -> nn.Module:
    options: dict[str, Any] = {}
    if config.arch in ("cahdc-rga", "convnet4") and config.dropout:
        options["dropout"] = config.dropout
    if config.arch == "convnet4":
        options["input_size"] = config.input_size
    return build_model(config.arch, config.n_outputs, **options)


def outputs(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The prediction of any of our nets: scores (N,) for a regressor, logits (N, k) else."""
    out = model(x)
    if hasattr(out, "score"):  # CaHDC-RGA's (score, side scores, attention)
        return out.score
    return out[:, 0] if out.shape[1] == 1 else out


def _loss(config: TrainConfig, model: nn.Module, x, y, weights) -> torch.Tensor:
    if config.arch == "cahdc-rga":
        out = model(x)
        return cahdc_loss(out.score, out.side_scores, y.float())
    pred = outputs(model, x)
    if config.target == "regression":
        return nn.functional.mse_loss(pred, y.float())
    return nn.functional.cross_entropy(pred, y.long(), weight=weights)


def save_checkpoint(path: Path, checkpoint: Checkpoint, optimizer=None) -> None:
    """Write atomically: a worker killed mid-write leaves the previous checkpoint whole."""
    state = {
        "format": CHECKPOINT_FORMAT,
        "config": checkpoint.config.to_dict(),
        "model": checkpoint.model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "epoch": checkpoint.epoch,
        "step": checkpoint.step,
        "best_val_loss": checkpoint.best_val_loss,
        "best_epoch": checkpoint.best_epoch,
        "history": checkpoint.history,
        "rng": torch.get_rng_state(),
        "extra": checkpoint.extra,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    torch.save(state, partial)
    os.replace(partial, path)


def load_checkpoint(path: str | Path, *, restore_rng: bool = False) -> Checkpoint:
    """The one loader: training resumes from it, inference and export read it."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(
            f"{path}: not a checkpoint of this platform (format {state.get('format')})"
        )
    config = TrainConfig.from_dict(state["config"])
    model = make_model(config)
    model.load_state_dict(state["model"])
    if restore_rng:
        torch.set_rng_state(state["rng"])
    return Checkpoint(
        config=config,
        model=model,
        epoch=state["epoch"],
        step=state["step"],
        best_val_loss=state["best_val_loss"],
        best_epoch=state["best_epoch"],
        history=list(state["history"]),
        optimizer_state=state["optimizer"],
        extra=dict(state["extra"]),
    )


def _optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.Adam(
        model.parameters(),
        lr=config.lr,
        betas=ADAM_BETAS,
        eps=ADAM_EPS,
        weight_decay=config.weight_decay,
    )


def _learning_rate(config: TrainConfig, step: int) -> float:
    if config.schedule == "cahdc":
        return lr_at(step, alpha0=config.lr)
    return config.lr


def _loader(config: TrainConfig, data: ImageDataset, epoch: int) -> DataLoader:
    generator = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
    # A last batch of one image would break batch norm's statistics: drop a short tail.
    drop_last = len(data) > config.batch_size
    if config.target != "regression" and config.balance == "sampler":
        labels = data.targets.numpy()
        sampler = balanced_sampler(labels, config.n_classes, seed=config.seed * 100_003 + epoch)
        return DataLoader(data, batch_size=config.batch_size, sampler=sampler, drop_last=drop_last)
    return DataLoader(
        data, batch_size=config.batch_size, shuffle=True, generator=generator, drop_last=drop_last
    )


def train(
    config: TrainConfig,
    train_data: ImageDataset,
    val_data: ImageDataset | None,
    checkpoint_path: Path,
    hooks: Hooks | None = None,
) -> Checkpoint:
    """Train for `config.epochs`, resuming from `checkpoint_path` if it holds this config.

    A checkpoint is written after every epoch; the best epoch's weights (lowest validation
    loss, or the last epoch without validation data) go to `best.pt` beside it.
    """
    hooks = hooks or Hooks()
    torch.manual_seed(config.seed)
    best_path = checkpoint_path.with_name("best.pt")
    state = _resume(config, checkpoint_path)
    resumed = state is not None
    if state is None:
        state = Checkpoint(config=config, model=make_model(config))
    model = state.model
    optimizer = _optimizer(config, model)
    if state.optimizer_state is not None:
        optimizer.load_state_dict(state.optimizer_state)
    weights = None
    if config.target != "regression" and config.balance == "weights":
        weights = class_weights(train_data.targets.numpy(), config.n_classes)
    drop = len(train_data) > config.batch_size
    steps_per_epoch = (len(train_data) // config.batch_size) if drop else 1
    total_steps = steps_per_epoch * config.epochs

    for epoch in range(state.epoch + 1, config.epochs + 1):
        train_data.set_epoch(epoch)
        model.train()
        started, seen, losses = time.monotonic(), 0, []
        patch_rng = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
        for x, y in _loader(config, train_data, epoch):
            if config.patches:
                size = (max(16, x.shape[2] // 2), max(16, x.shape[3] // 2))
                x, index = random_patches(x, size=size, generator=patch_rng)
                y = y[index]
            for group in optimizer.param_groups:
                group["lr"] = _learning_rate(config, state.step)
            optimizer.zero_grad(set_to_none=True)
            loss = _loss(config, model, x, y, weights)
            loss.backward()
            optimizer.step()
            state.step += 1
            seen += len(y)
            losses.append(loss.item())
            hooks.on_step(state.step, total_steps, seen / max(time.monotonic() - started, 1e-9))
        report: dict[str, Any] = {
            "epoch": epoch,
            "step": state.step,
            "train_loss": float(np.mean(losses)) if losses else None,
            "seconds": round(time.monotonic() - started, 3),
        }
        if resumed:
            report["resumed"] = True  # trained after a restart, from the last checkpoint
        if val_data is not None and len(val_data):
            val_loss, predictions = evaluate(model, config, val_data)
            report["val_loss"] = val_loss
            report["val"] = score_predictions(config, predictions, val_data.targets.numpy())
        state.history.append(report)
        state.epoch = epoch
        val_loss = report.get("val_loss")
        if val_loss is None or val_loss < state.best_val_loss:
            state.best_val_loss = val_loss if val_loss is not None else math.inf
            state.best_epoch = epoch
            save_checkpoint(best_path, state)
        save_checkpoint(checkpoint_path, state, optimizer)
        hooks.on_epoch(report)
    if not best_path.exists():  # resumed after the last epoch was already written
        save_checkpoint(best_path, state)
    best = load_checkpoint(best_path)
    best.history = state.history
    return best


def _resume(config: TrainConfig, path: Path) -> Checkpoint | None:
    if not path.exists():
        return None
    checkpoint = load_checkpoint(path, restore_rng=True)
    if checkpoint.config != config:
        return None  # another config: start afresh rather than mix two runs
    return checkpoint


@torch.inference_mode()
def evaluate(model: nn.Module, config: TrainConfig, data: ImageDataset) -> tuple[float, np.ndarray]:
    """Validation loss and predictions: scores (n,) or class probabilities (n, k)."""
    model.eval()
    total, n, predictions = 0.0, 0, []
    for x, y in DataLoader(data, batch_size=config.batch_size, shuffle=False):
        total += float(_loss(config, model, x, y, None)) * len(y)
        n += len(y)
        out = outputs(model, x)
        predictions.append(out if config.target == "regression" else out.softmax(dim=1))
    return total / max(n, 1), torch.cat(predictions).numpy()


def score_predictions(config: TrainConfig, predictions: np.ndarray, targets) -> dict[str, Any]:
    if config.target == "regression":
        return regression_metrics(predictions, np.asarray(targets, dtype=np.float64))
    return classification_metrics(predictions, np.asarray(targets, dtype=np.int64))
