"""Flags for images whose expert ratings are too spread out to serve as a reliable label."""

from __future__ import annotations

import numpy as np


def high_sd(sd: np.ndarray, threshold: float = 2.0) -> np.ndarray:
    """True where the per-image rating SD exceeds ``threshold`` score points (NaN SD -> False).

    Why: the chest paper's MOS is only a good training label where experts roughly agree; 2.0
    points on a 1-10 scale (about one grade of poor / moderate / excellent) is our default.
    """
    s = np.asarray(sd, dtype=float)
    return np.where(np.isnan(s), False, s > threshold)


def split_vote(votes: np.ndarray, n: np.ndarray, min_share: float = 0.7) -> np.ndarray:
    """True where the winning class holds less than ``min_share`` of an image's votes.

    Why: with the chest paper's three readers a 2-1 acceptability vote (share 0.67) is a split
    decision worth a second look; 3-2 and ties are flagged too, 4-1 (0.8) is not. Images with no
    vote are not flagged (there is nothing to split).
    """
    v = np.asarray(votes, dtype=float)
    total = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, v / total, 1.0)
    return share < min_share
