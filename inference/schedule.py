"""CaHDC-RGA's learning-rate schedule and Adam settings (Meng et al. 2022, Eq. 3 and its text).

    lr(t) = max(alpha0 * d^(0.01 t), alpha_m),  alpha0 = 1e-3, d = 0.8, alpha_m = 3e-5

t counts optimizer steps (mini-batch updates), starting at 0 for the first step. The paper does
not say; steps is the reading that makes the numbers sensible: the rate falls by a factor d every
100 steps and reaches the floor after ln(0.03) / ln(0.8) / 0.01 ~ 1,571 steps, i.e. some 30 epochs
of the paper's 826 training images at a batch of 16. Counting epochs instead, the floor would take
1,571 epochs.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

ALPHA0 = 1e-3
DECAY = 0.8
ALPHA_MIN = 3e-5
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


def lr_at(step: int, alpha0: float = ALPHA0, d: float = DECAY, alpha_m: float = ALPHA_MIN) -> float:
    """Rate for optimizer step ``step`` (0-based): max(alpha0 * d**(0.01 * step), alpha_m)."""
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    return max(alpha0 * d ** (0.01 * step), alpha_m)


def make_optimizer(
    params: Iterable[torch.nn.Parameter], alpha0: float = ALPHA0
) -> torch.optim.Adam:
    """Adam with the paper's beta1 = 0.9, beta2 = 0.999, eps = 1e-8, starting at ``lr_at(0)``.

    The caller sets each step's rate with ``set_lr(optimizer, step)`` before ``optimizer.step()``.
    """
    return torch.optim.Adam(params, lr=alpha0, betas=ADAM_BETAS, eps=ADAM_EPS)


def set_lr(optimizer: torch.optim.Optimizer, step: int, **schedule: float) -> float:
    """Give every parameter group the rate for ``step``; returns it (for logging)."""
    lr = lr_at(step, **schedule)
    for group in optimizer.param_groups:
        group["lr"] = lr
    return lr
