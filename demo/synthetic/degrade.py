"""Degradations with known parameters, and the true quality that follows from them."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage, signal

# The CaHDC-RGA paper's ROC cut-offs on the 1-10 MOS for acceptable vs non-acceptable.
GRAY_LEVEL_CUTOFF = 7.0
SHARPNESS_CUTOFF = 7.2

# Score points lost per unit of each parameter: truth = 10 - sum of penalties, floored at 1.
# Chosen so the worst parameter values in range cost about 6-7 points on their own.
POINTS_PER_EV = 3.0
POINTS_PER_LN_CONTRAST = 5.0
POINTS_PER_LN_GAMMA = 6.0
POINTS_PER_BLUR_PX = 2.5
POINTS_PER_MOTION_PX = 0.6
POINTS_PER_NOISE = 150.0

DISPLAY_SHIFT_PER_EV = 0.15  # over-exposure darkens (burns out lungs), under-exposure whitens
RANGES = {
    "exposure_ev": (-2.5, 2.5),
    "contrast": (0.25, 1.0),
    "gamma": (0.4, 2.5),
    "blur_sigma_px": (0.0, 3.5),
    "motion_length_px": (0.0, 15.0),
    "noise_sigma": (0.0, 0.05),
}


@dataclass(frozen=True)
class ChestDegradation:
    """Known degradation of a clean chest phantom; the defaults leave it untouched."""

    exposure_ev: float = 0.0
    contrast: float = 1.0  # <= 1: a flat, washed-out image
    gamma: float = 1.0
    blur_sigma_px: float = 0.0
    motion_length_px: float = 0.0
    motion_angle_deg: float = 0.0
    noise_sigma: float = 0.0  # fraction of full display scale
    noise_seed: int = 0

    def as_dict(self) -> dict[str, float]:
        """Plain dict, for manifests and database JSON fields."""
        return asdict(self)


@dataclass(frozen=True)
class ChestTruth:
    """True quality of a degraded radiograph on the paper's 1-10 scales."""

    gray_level: float
    sharpness: float
    acceptable: bool


def gray_level_penalty(spec: ChestDegradation) -> float:
    """Score points lost on the gray-level axis (exposure, contrast, gamma)."""
    return (
        POINTS_PER_EV * abs(spec.exposure_ev)
        + POINTS_PER_LN_CONTRAST * abs(np.log(spec.contrast))
        + POINTS_PER_LN_GAMMA * abs(np.log(spec.gamma))
    )


def sharpness_penalty(spec: ChestDegradation) -> float:
    """Score points lost on the sharpness axis (focal/detector blur, motion, noise)."""
    return (
        POINTS_PER_BLUR_PX * spec.blur_sigma_px
        + POINTS_PER_MOTION_PX * spec.motion_length_px
        + POINTS_PER_NOISE * spec.noise_sigma
    )


def chest_truth(spec: ChestDegradation) -> ChestTruth:
    """True scores: 10 minus the penalties, on 1..10; acceptable when both reach the cut-offs."""
    gray = round(float(np.clip(10.0 - gray_level_penalty(spec), 1.0, 10.0)), 2)
    sharp = round(float(np.clip(10.0 - sharpness_penalty(spec), 1.0, 10.0)), 2)
    return ChestTruth(gray, sharp, gray >= GRAY_LEVEL_CUTOFF and sharp >= SHARPNESS_CUTOFF)


def _target_scores(rng: np.random.Generator) -> tuple[float, float]:
    """Draw target scores for both axes.

    The paper picked excellent : moderate : poor images 1:1:1 and got MOS 7.75 +/- 1.24 (gray)
    and 8.01 +/- 1.21 (sharpness); tiers 45/40/15 with these bands give about 7.8 +/- 1.6, a
    little wider so that enough images fall below the acceptability cut-offs.
    Half the images share one quantile on both axes, since a bad exposure often comes with
    a bad technique overall.
    """

    def score(q: float, tier: int) -> float:
        low, high = ((8.5, 10.0), (6.5, 8.5), (3.0, 6.5))[tier]
        return low + q * (high - low)

    tiers = rng.choice(3, size=2, p=[0.45, 0.40, 0.15])
    q = rng.uniform(size=2)
    if rng.uniform() < 0.5:
        tiers[1], q[1] = tiers[0], q[0]
    return score(q[0], int(tiers[0])), score(q[1], int(tiers[1]))


def random_chest_degradation(rng: np.random.Generator) -> ChestDegradation:
    """Draw a degradation: target scores first, then split each axis' penalty among parameters.

    The split is random (Dirichlet), so a gray-level 5 may come from exposure, contrast, gamma or
    a mix. Parameters are clipped to their ranges, so the truth is always recomputed from them.
    """
    gray_target, sharp_target = _target_scores(rng)
    pg = (10.0 - gray_target) * rng.dirichlet([1.0, 1.0, 1.0])
    ps = (10.0 - sharp_target) * rng.dirichlet([1.0, 1.0, 1.0])
    sign = rng.choice([-1.0, 1.0], size=2)

    def clip(name: str, value: float) -> float:
        low, high = RANGES[name]
        return round(float(np.clip(value, low, high)), 4)

    return ChestDegradation(
        exposure_ev=clip("exposure_ev", sign[0] * pg[0] / POINTS_PER_EV),
        contrast=clip("contrast", np.exp(-pg[1] / POINTS_PER_LN_CONTRAST)),
        gamma=clip("gamma", np.exp(sign[1] * pg[2] / POINTS_PER_LN_GAMMA)),
        blur_sigma_px=clip("blur_sigma_px", ps[0] / POINTS_PER_BLUR_PX),
        motion_length_px=clip("motion_length_px", ps[1] / POINTS_PER_MOTION_PX),
        motion_angle_deg=round(float(rng.uniform(0.0, 180.0)), 1),
        noise_sigma=clip("noise_sigma", ps[2] / POINTS_PER_NOISE),
        noise_seed=int(rng.integers(2**31)),
    )


def motion_kernel(length_px: float, angle_deg: float) -> np.ndarray:
    """Normalised line kernel of a linear motion, anti-aliased by bilinear splatting."""
    half = int(np.ceil(length_px / 2.0)) + 1
    k = np.zeros((2 * half + 1, 2 * half + 1))
    t = np.deg2rad(angle_deg)
    s = np.linspace(-length_px / 2.0, length_px / 2.0, max(int(length_px * 4), 2))
    r, c = half - s * np.sin(t), half + s * np.cos(t)
    r0, c0 = np.floor(r).astype(int), np.floor(c).astype(int)
    fr, fc = r - r0, c - c0
    for dr, dc, w in ((0, 0, (1 - fr) * (1 - fc)), (1, 0, fr * (1 - fc)), (0, 1, (1 - fr) * fc)):
        np.add.at(k, (r0 + dr, c0 + dc), w)
    np.add.at(k, (r0 + 1, c0 + 1), fr * fc)
    return k / k.sum()


def degrade_chest(clean: np.ndarray, spec: ChestDegradation) -> np.ndarray:
    """Apply a degradation to a clean display image in [0, 1]; returns display values in [0, 1].

    Order follows the imaging chain: optical blur and patient motion, then detector noise, then
    the gray-level processing (exposure, contrast, gamma) with saturation at both ends.
    """
    img = clean.astype(np.float32, copy=True)
    if spec.blur_sigma_px > 0:
        img = ndimage.gaussian_filter(img, spec.blur_sigma_px, mode="reflect")
    if spec.motion_length_px >= 0.5:
        k = motion_kernel(spec.motion_length_px, spec.motion_angle_deg).astype(np.float32)
        pad = k.shape[0] // 2
        # Reflect-pad so the FFT convolution does not darken the borders.
        padded = np.pad(img, pad, mode="reflect")
        img = signal.fftconvolve(padded, k, mode="same")[pad:-pad, pad:-pad]
    if spec.noise_sigma > 0:
        rng = np.random.default_rng(spec.noise_seed)
        # Quantum noise is larger where fewer photons arrive, i.e. in the bright (dense) parts.
        sd = spec.noise_sigma * (0.6 + 0.8 * img)
        img = img + sd * rng.standard_normal(img.shape, dtype=np.float32)
    img = (img - 0.5) * spec.contrast + 0.5 - DISPLAY_SHIFT_PER_EV * spec.exposure_ev
    img = np.clip(img, 0.0, 1.0) ** spec.gamma
    return img.astype(np.float32)


def to_12bit(display: np.ndarray) -> np.ndarray:
    """Quantise display values in [0, 1] to 12-bit stored values (uint16, 0..4095)."""
    return np.round(np.clip(display, 0.0, 1.0) * 4095.0).astype(np.uint16)


def degrade_random_chest(
    clean: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, ChestDegradation, ChestTruth]:
    """Draw a degradation, apply it, and return (image in [0, 1], spec, truth)."""
    spec = random_chest_degradation(rng)
    return degrade_chest(clean, spec), spec, chest_truth(spec)
