"""Simulated raters with planted biases, noise, speed and coverage, producing rating records."""

from __future__ import annotations

import zlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from demo.synthetic.degrade import GRAY_LEVEL_CUTOFF, SHARPNESS_CUTOFF, ChestTruth
from demo.synthetic.mr_motion import mr_quality_class

GRAY_LEVEL = "gray_level"
SHARPNESS = "sharpness"
ACCEPTABLE = "acceptable"
MR_QUALITY = "mr_quality"
RADIOLOGIST = "radiologist"
RADIOGRAPHER = "radiographer"

# Planted score offsets (points on the 1-10 scale), centred on 0 so the panel's MOS is unbiased.
# rater03 is by far the harshest (-1.5); statistics should find exactly that. The largest bias
# is negative because scores are clipped at 10 and most images are good: a large lenient bias
# would be partly hidden by the ceiling, a harsh one stays fully visible. They sum to zero.
PLANTED_BIASES = (0.3, 0.4, -1.5, 0.6, 0.1, -0.2, 0.5, -0.9, 0.6, 0.1)
MEDIAN_ACTIVE_S = 9.5  # before the slow-down on poor images; the overall median lands near 11 s
ACTIVE_SIGMA = 0.5  # log-normal spread: the paper's IQR of ~7.5 s around an 11 s median


@dataclass(frozen=True)
class SimRater:
    """One simulated expert; every attribute is planted, so statistics can be checked."""

    key: str
    profession: str
    bias: float  # added to the true score before rounding
    noise_sd: float  # SD of the per-reading error, in score points
    speed: float  # multiplies the median reading time (1.0 = typical)
    coverage: float  # share of images this rater gets round to
    votes_acceptable: bool = False  # one of the 3 senior QC experts of the paper
    rates_mr: bool = False  # one of the 2 MR raters
    mr_bias: float = 0.0  # added to the perceived motion severity (+ = stricter)
    mr_noise_sd: float = 0.08


def default_raters() -> list[SimRater]:
    """The paper's panel: 5 radiologists and 5 radiographers, 3 of them voting acceptability."""
    noise = (0.6, 0.8, 0.7, 0.9, 0.5, 1.0, 0.7, 0.8, 0.6, 1.1)
    speed = (0.9, 1.1, 0.8, 1.0, 1.2, 1.0, 0.85, 1.25, 0.95, 1.05)
    coverage = (1.0, 0.97, 0.95, 0.98, 0.9, 1.0, 0.96, 0.8, 0.99, 0.93)
    raters = []
    for i in range(10):
        raters.append(
            SimRater(
                key=f"rater{i + 1:02d}",
                profession=RADIOLOGIST if i < 5 else RADIOGRAPHER,
                bias=PLANTED_BIASES[i],
                noise_sd=noise[i],
                speed=speed[i],
                coverage=coverage[i],
                votes_acceptable=i in (0, 4, 5),
                rates_mr=i in (0, 1),
                # One stricter, one more lenient reader, each with their own noise: they
                # disagree on about a third of the series, between adjacent classes (the
                # MR paper's fig. 6 shows such a Jaccard matrix, far from the identity).
                mr_bias=(0.08, -0.08)[i] if i < 2 else 0.0,
                mr_noise_sd=0.09,
            )
        )
    return raters


@dataclass(frozen=True)
class SimAssessment:
    """One rater's reading of one image: values per dimension plus time and interactions."""

    image_key: str
    rater_key: str
    sequence: int  # position in this rater's reading order
    values: dict[str, int | bool]
    active_ms: int
    zoom_count: int
    pan_count: int
    window_count: int

    def as_rows(self) -> list[dict]:
        """One plain dict per dimension: image, rater, dimension, value, duration, interactions."""
        base = asdict(self)
        values = base.pop("values")
        return [{**base, "dimension": dim, "value": val} for dim, val in values.items()]


def _rng(seed: int, *parts: int | str) -> np.random.Generator:
    """A generator fixed by (seed, parts), so a reading does not depend on iteration order."""
    ints = [zlib.crc32(p.encode()) if isinstance(p, str) else p for p in parts]
    return np.random.default_rng([seed, *ints])


def _timing(rng: np.random.Generator, rater: SimRater, median_s: float, slowdown: float) -> dict:
    """Active time (log-normal) and interaction counts that grow with the time spent."""
    seconds = median_s * rater.speed * slowdown * rng.lognormal(0.0, ACTIVE_SIGMA)
    seconds = float(np.clip(seconds, 2.0, 180.0))
    return {
        "active_ms": int(seconds * 1000),
        "zoom_count": int(rng.poisson(0.08 * seconds)),
        "pan_count": int(rng.poisson(0.06 * seconds)),
        "window_count": int(rng.poisson(0.10 * seconds * slowdown)),
    }


def score(perceived: float) -> int:
    """A perceived quality turned into a 1..10 integer score (rounded, clipped)."""
    return int(np.clip(np.rint(perceived), 1, 10))


def simulate_chest_ratings(
    truths: Mapping[str, ChestTruth],
    raters: Sequence[SimRater] | None = None,
    seed: int = 0,
    acceptable_keys: Collection[str] | None = None,
    shared_sd: float = 0.3,
) -> list[SimAssessment]:
    """Gray-level and sharpness scores (1-10) from every rater, and acceptable votes from three.

    perceived = truth + image effect (shared by all raters, SD `shared_sd`) + rater bias + noise.
    Scores are rounded and clipped to 1..10, so near 10 a positive bias is partly censored: recover
    biases on images with mid-range truth, or model the clipping. Acceptable votes apply the paper's
    cut-offs (7.0 gray-level, 7.2 sharpness) to the voter's own perception, on `acceptable_keys`
    (the paper's test set; all images when None). Reading time is log-normal around ~11 s and
    longer on poor images.
    """
    raters = list(raters) if raters is not None else default_raters()
    records = []
    for r_index, rater in enumerate(raters):
        order = _rng(seed, "order", r_index).permutation(len(truths))
        keys = list(truths)
        for sequence, k in enumerate(order):
            key = keys[int(k)]
            truth = truths[key]
            rng = _rng(seed, "reading", r_index, key)
            if rng.uniform() >= rater.coverage:
                continue
            shared = _rng(seed, "image", key).normal(0.0, shared_sd, 2)
            gray = truth.gray_level + shared[0] + rater.bias + rng.normal(0.0, rater.noise_sd)
            sharp = truth.sharpness + shared[1] + rater.bias + rng.normal(0.0, rater.noise_sd)
            values: dict[str, int | bool] = {GRAY_LEVEL: score(gray), SHARPNESS: score(sharp)}
            if rater.votes_acceptable and (acceptable_keys is None or key in acceptable_keys):
                values[ACCEPTABLE] = bool(gray >= GRAY_LEVEL_CUTOFF and sharp >= SHARPNESS_CUTOFF)
            # Poor images take longer: experts look twice before calling an image bad.
            slowdown = 1.0 + 0.06 * (10.0 - min(truth.gray_level, truth.sharpness))
            timing = _timing(rng, rater, MEDIAN_ACTIVE_S, slowdown)
            records.append(SimAssessment(key, rater.key, sequence, values, **timing))
    return records


def simulate_mr_ratings(
    severities: Mapping[str, float],
    raters: Sequence[SimRater] | None = None,
    seed: int = 0,
) -> list[SimAssessment]:
    """3-class labels (0 non-diagnostic, 1 diagnostic, 2 excellent) from the MR raters.

    Each rater thresholds a noisy, biased perception of the true motion severity, so their
    disagreements fall between adjacent classes, as in the MR paper's Jaccard matrix.
    """
    raters = [r for r in (raters if raters is not None else default_raters()) if r.rates_mr]
    records = []
    for r_index, rater in enumerate(raters):
        order = _rng(seed, "mr-order", r_index).permutation(len(severities))
        keys = list(severities)
        for sequence, k in enumerate(order):
            key = keys[int(k)]
            rng = _rng(seed, "mr-reading", r_index, key)
            perceived = severities[key] + rater.mr_bias + rng.normal(0.0, rater.mr_noise_sd)
            values: dict[str, int | bool] = {MR_QUALITY: mr_quality_class(perceived)}
            # Scrolling through a stack takes longer than one radiograph.
            timing = _timing(rng, rater, 2.5 * MEDIAN_ACTIVE_S, 1.0 + severities[key])
            records.append(SimAssessment(key, rater.key, sequence, values, **timing))
    return records
