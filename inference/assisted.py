"""Does the model help readers, or lead them? An assisted-reading arm (show_model_output) set
against an unassisted reading of the same images: time per image and agreement with a reference.

The design is the multi-reader comparison of a reader study: the same images read with and
without the model's score and saliency. Per arm, over the first readings (repeats left out) of
the images both arms read:

- time: the median of `Assessment.active_ms` (the image on screen in a focused tab, idle left
  out), with the number of readings timed;
- agreement with the reference: each reading is paired with the reference value of its image and
  per arm we give the mean absolute difference (MAD) and the ICC of the (reading, reference)
  pairs as two raters (ratings.stats.icc: ICC2 = ICC(A,1), absolute agreement, Shrout & Fleiss
  1979 / McGraw & Wong 1996). The reference is the MOS of the unassisted arm, or of a third study
  when one is chosen. When the reference is an arm's own MOS, a reading of that arm is paired with
  the mean of the *other* readers of the image (leave-one-out), so a reader is never compared
  with an average that contains their own value; images with one reader there are left out.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from ratings.models import AssessmentStatus, DimensionKind, Rating, ReaderStudy
from ratings.stats.icc import icc


class ComparisonError(ValueError):
    """The studies or dimension do not make a comparison; the message says why."""


def _readings(study: ReaderStudy, key: str) -> list[tuple[int, int, float, int | None]]:
    """(image, rater, value, active_ms) of every submitted first reading of the dimension."""
    rows = Rating.objects.filter(
        assessment__study=study,
        assessment__status=AssessmentStatus.SUBMITTED,
        assessment__repeat_index=0,
        dimension__key=key,
    ).values_list("assessment__image_id", "assessment__rater_id", "value", "assessment__active_ms")
    return [(image, rater, float(value), ms) for image, rater, value, ms in rows]


def common_dimension(assisted: ReaderStudy, unassisted: ReaderStudy) -> str:
    """The first score dimension (in the assisted study's order) that both studies rate."""
    theirs = set(
        unassisted.dimensions.filter(kind=DimensionKind.SCORE).values_list("key", flat=True)
    )
    for key in assisted.dimensions.filter(kind=DimensionKind.SCORE).values_list("key", flat=True):
        if key in theirs:
            return key
    raise ComparisonError("the two studies rate no score dimension in common")


def _by_image(readings) -> dict[int, dict[int, float]]:
    out: dict[int, dict[int, float]] = defaultdict(dict)
    for image, rater, value, _ in readings:
        out[image][rater] = value
    return out


def _arm(readings, images: set[int], reference, own: bool) -> dict[str, Any]:
    """One arm's time and agreement over `images`; `own`: the reference is this arm's MOS."""
    mine = [r for r in readings if r[0] in images]
    times = [ms for _, _, _, ms in mine if ms is not None]
    pairs = []
    for image, rater, value, _ in mine:
        if own:
            others = [v for r, v in reference[image].items() if r != rater]
            if not others:
                continue
            ref = float(np.mean(others))
        else:
            ref = float(np.mean(list(reference[image].values())))
        pairs.append((value, ref))
    table = np.asarray(pairs, dtype=float).reshape(-1, 2)
    agreement = icc(table)["ICC2"] if len(pairs) else {"value": None, "ci95": None}
    return {
        "n_readings": len(mine),
        "n_raters": len({rater for _, rater, _, _ in mine}),
        "n_timed": len(times),
        "median_active_ms": float(np.median(times)) if times else None,
        "n_pairs": len(pairs),
        "mad": float(np.mean(np.abs(table[:, 0] - table[:, 1]))) if len(pairs) else None,
        "icc": {"form": "ICC2", "value": agreement["value"], "ci95": agreement["ci95"]},
    }


def assisted_comparison(
    assisted: ReaderStudy,
    unassisted: ReaderStudy,
    dimension_key: str | None = None,
    reference: ReaderStudy | None = None,
) -> dict[str, Any]:
    """The assisted arm beside the unassisted one on the images both read (see the module)."""
    if assisted.pk == unassisted.pk:
        raise ComparisonError("a study cannot be compared with itself")
    key = dimension_key or common_dimension(assisted, unassisted)
    for study in (assisted, unassisted, *([reference] if reference else [])):
        if not study.dimensions.filter(key=key, kind=DimensionKind.SCORE).exists():
            raise ComparisonError(f"study {study.pk} has no score dimension {key!r}")
    with_model, without = _readings(assisted, key), _readings(unassisted, key)
    ref_study = reference or unassisted
    ref_readings = without if reference is None else _readings(reference, key)
    ref = _by_image(ref_readings)
    images = {r[0] for r in with_model} & {r[0] for r in without} & set(ref)
    return {
        "dimension": key,
        "assisted_study": assisted.pk,
        "unassisted_study": unassisted.pk,
        "reference": {
            "study": ref_study.pk,
            "what": "MOS of the unassisted arm (leave-one-out for its own readers)"
            if reference is None
            else "MOS of the reference study",
        },
        "n_images": len(images),
        "assisted": _arm(with_model, images, ref, own=False),
        "unassisted": _arm(without, images, ref, own=reference is None),
    }
