"""Small helpers that turn numpy results into JSON-safe Python values (None for undefined)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def num(x: Any) -> float | None:
    """Return ``x`` as a Python float, or None when it is missing, NaN or infinite."""
    if x is None:
        return None
    value = float(x)
    return value if math.isfinite(value) else None


def num_list(values: Any) -> list[float | None]:
    """Return a 1-D array as a list of floats with None for every non-finite entry."""
    arr = np.asarray(values, dtype=float)
    out: list[float | None] = arr.tolist()
    # Patch the (usually few) non-finite entries instead of testing every value in Python.
    for index in np.flatnonzero(~np.isfinite(arr)).tolist():
        out[index] = None
    return out


def pair_key(a: Any, b: Any) -> str:
    """Key of a rater pair in the report: ``"<rater a>|<rater b>"``."""
    return f"{a}|{b}"
