"""Turn rating matrices into integer class codes (-1 = missing) for the categorical statistics."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MISSING = -1

# The chest radiograph paper's three quality grades (Methods, "excellent, moderate, and poor"),
# mapped onto its 1-10 score: 1-4 poor, 5-7 moderate, 8-10 excellent. Each bin is
# (label, lowest score, highest score), both ends inclusive.
DEFAULT_SCORE_BINS: tuple[tuple[str, float, float], ...] = (
    ("poor", 1, 4),
    ("moderate", 5, 7),
    ("excellent", 8, 10),
)


def codes_from_values(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Code a numeric images x raters matrix by its sorted distinct values.

    Returns ``(codes, values)``: ``codes[i, r]`` indexes ``values`` or is -1 where NaN.
    """
    x = np.asarray(scores, dtype=float)
    present = ~np.isnan(x)
    observed = x[present]
    codes = np.full(x.shape, MISSING, dtype=np.int64)
    fast = _integer_codes(observed)
    if fast is not None:
        codes[present], values = fast
        return codes, values
    values = np.unique(observed)
    codes[present] = np.searchsorted(values, observed)
    return codes, values


def _integer_codes(v: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(codes, values) of codes_from_values by counting, for whole numbers in a small range.

    Scores are small integers (1-10): a bincount over their range gives the same sorted
    distinct values and positions as np.unique + np.searchsorted without sorting a million
    values. None (use those) for anything else, or a -0.0 that np.unique might keep.
    """
    if not v.size:
        return None
    low, high = float(v.min()), float(v.max())
    if not (np.isfinite(low) and np.isfinite(high)) or high - low > 1 << 16:
        return None
    offsets = v - low
    if not np.array_equal(offsets, np.floor(offsets)):
        return None
    if low <= 0.0 <= high and np.signbit(v[v == 0.0]).any():
        return None
    offsets = offsets.astype(np.int64)
    seen = np.bincount(offsets) > 0
    code_of = np.cumsum(seen) - 1
    return code_of[offsets], np.flatnonzero(seen) + low


def bin_scores(
    scores: np.ndarray, bins: Sequence[tuple[str, float, float]] = DEFAULT_SCORE_BINS
) -> tuple[np.ndarray, list[str]]:
    """Code scores by inclusive ``(label, low, high)`` bins; a score outside every bin is an error.

    Source of the default bins: chest radiograph paper (excellent / moderate / poor grades).
    """
    x = np.asarray(scores, dtype=float)
    codes = np.full(x.shape, MISSING, dtype=np.int64)
    present = ~np.isnan(x)
    for index, (_label, low, high) in enumerate(bins):
        codes[present & (x >= low) & (x <= high)] = index
    unbinned = present & (codes == MISSING)
    if unbinned.any():
        raise ValueError(f"score {x[unbinned][0]!r} falls outside every bin {list(bins)!r}")
    return codes, [label for label, _low, _high in bins]


def confusion(a: np.ndarray, b: np.ndarray, n_classes: int) -> np.ndarray:
    """Class x class counts of two raters' codes over images both rated (np.bincount)."""
    both = (a >= 0) & (b >= 0)
    flat = a[both] * n_classes + b[both]
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def pairwise_confusions(codes: np.ndarray, n_classes: int) -> dict[tuple[int, int], np.ndarray]:
    """Confusion matrix of every rater pair (i < j), one np.bincount each.

    Why the extra class: missing (-1) is coded as class K before counting, so no boolean
    indexing is needed per pair (the slow part at 100k images); its row and column are then
    dropped, which leaves exactly the images both raters rated.
    """
    k = n_classes + 1
    # One row per rater (contiguous), so each pair adds two contiguous vectors.
    ext = np.ascontiguousarray(np.where(codes >= 0, codes, n_classes).astype(np.int64).T)
    out: dict[tuple[int, int], np.ndarray] = {}
    for i in range(codes.shape[1]):
        left = ext[i] * k
        for j in range(i + 1, codes.shape[1]):
            full = np.bincount(left + ext[j], minlength=k * k).reshape(k, k)
            out[(i, j)] = full[:n_classes, :n_classes]
    return out


def merge_classes(conf: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Confusion matrix over coarser classes: ``groups[c]`` is the coarse class of fine class c."""
    member = np.zeros((conf.shape[0], n_groups), dtype=conf.dtype)
    member[np.arange(conf.shape[0]), groups] = 1
    return member.T @ conf @ member


def class_counts(codes: np.ndarray, n_classes: int) -> np.ndarray:
    """Images x classes matrix: how many raters put each image in each class."""
    n_images = codes.shape[0]
    k = n_classes + 1
    ext = np.where(codes >= 0, codes, n_classes).astype(np.int64)
    flat = (np.arange(n_images, dtype=np.int64)[:, None] * k + ext).ravel()
    return np.bincount(flat, minlength=n_images * k).reshape(n_images, k)[:, :n_classes]
