"""The low-score-weighted regression loss of CaHDC-RGA (Meng et al. 2022, Eqs. 1 and 2).

The paper prints Eq. 1 as L_alpha(s) = (s - s_bar)^-2 / s^-alpha, with s the prediction and s_bar
the ground truth (MOS), and says its purpose is to "pay more attention to the low-score images".
Read literally it cannot be right:

- an exponent of -2 on the error makes the loss largest for a perfect prediction (and infinite
  there); the exponent is a squared error, 2;
- dividing by s^-alpha multiplies by s^alpha, which weighs *high* scores more, the opposite of the
  stated purpose; the weight must be a negative power of the score, s^-alpha;
- with the prediction s in the weight (alpha = 1: (s - t)^2 / s), an over-estimate costs less
  than an under-estimate of the same size (d^2 / (t + d) < d^2 / (t - d)), which pushes
  predictions up, away from the low scores the paper wants caught; and the loss is unbounded
  below for s < 0, so a network could send it to minus infinity. Weighting by the ground truth
  keeps each image's weight a constant: the loss stays >= 0 and its minimum is s = s_bar.

So Eq. 1 is read as a squared error weighted by the inverse power of the ground truth:

    L_alpha(s) = (s - s_bar)^2 / s_bar^alpha

With the paper's alpha = 1 on a 1-10 scale, an image rated 2 counts five times one rated 10.

Eq. 2 is printed as L = sum_{i=1..4} (b_i L_alpha(Q_i) + L_alpha(Q)); taken literally the final
score's loss is counted four times, which only rescales b_i to b_i / 4. The auxiliary reading that
the text describes ("the error between predicted score by each single level and MOS is adopted as
auxiliary loss") is one main term plus four weighted side terms:

    L = L_alpha(Q) + sum_{i=1..4} b_i L_alpha(Q_i),   alpha = 1, b_i = 0.1

Each term is averaged over the images of the batch.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

ALPHA = 1.0
SIDE_WEIGHTS = (0.1, 0.1, 0.1, 0.1)


def low_score_weighted(prediction: Tensor, target: Tensor, alpha: float = ALPHA) -> Tensor:
    """Mean over the batch of (prediction - target)^2 / target^alpha (Eq. 1, as read above).

    Targets must be positive (MOS on a 1-10 scale): a zero or negative score has no weight.
    """
    if prediction.shape != target.shape:
        raise ValueError(f"prediction {tuple(prediction.shape)} vs target {tuple(target.shape)}")
    if bool((target <= 0).any()):
        raise ValueError("low_score_weighted needs positive targets (scores on a 1-10 scale)")
    return ((prediction - target) ** 2 / target**alpha).mean()


def cahdc_loss(
    score: Tensor,
    side_scores: Tensor,
    target: Tensor,
    alpha: float = ALPHA,
    side_weights: Sequence[float] = SIDE_WEIGHTS,
) -> Tensor:
    """Eq. 2 as read above: L(Q) + sum_i b_i L(Q_i).

    ``score`` and ``target`` are (N,), ``side_scores`` (N, 4).
    """
    if side_scores.shape != (*target.shape, len(side_weights)):
        raise ValueError(
            f"side_scores {tuple(side_scores.shape)} must be (N, {len(side_weights)}) "
            f"for target {tuple(target.shape)}"
        )
    loss = low_score_weighted(score, target, alpha)
    for level, weight in enumerate(side_weights):
        loss = loss + weight * low_score_weighted(side_scores[:, level], target, alpha)
    return loss
