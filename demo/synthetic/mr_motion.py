"""K-space motion artifacts for MR slices, with a known 3-class diagnostic-quality truth."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# Labels as in the MR diagnostic-quality paper: 0 poor/non-diagnostic, 1 diagnostic, 2 excellent.
MR_CLASSES = ("non_diagnostic", "diagnostic", "excellent")
EXCELLENT_BELOW = 0.2  # severity thresholds between classes
DIAGNOSTIC_BELOW = 0.6
MAX_SHIFT_PX = 6.0  # largest head displacement at severity 1
MAX_PHASE_RAD = 0.25
# Most clinical series are diagnostic; the paper stresses the class imbalance.
CLASS_SHARES = (0.18, 0.60, 0.22)  # non-diagnostic, diagnostic, excellent


@dataclass(frozen=True)
class MRMotion:
    """Rigid in-plane motion during part of the acquisition of a series."""

    severity: float  # 0 = still, 1 = severe
    band_offset: float  # where the corrupted band of phase-encode lines sits, from k-space centre
    seed: int

    def as_dict(self) -> dict[str, float]:
        """Plain dict, for manifests and database JSON fields."""
        return asdict(self)


def mr_quality_class(severity: float) -> int:
    """True class index (0 non-diagnostic, 1 diagnostic, 2 excellent) of a motion severity."""
    if severity < EXCELLENT_BELOW:
        return 2
    return 1 if severity < DIAGNOSTIC_BELOW else 0


def random_mr_motion(rng: np.random.Generator, cls: int | None = None) -> MRMotion:
    """Draw a motion whose class follows CLASS_SHARES (or is `cls`); severity is uniform inside
    each class."""
    if cls is None:
        cls = rng.choice(3, p=CLASS_SHARES)
    low, high = (
        (DIAGNOSTIC_BELOW, 1.0),
        (EXCELLENT_BELOW, DIAGNOSTIC_BELOW),
        (0.0, EXCELLENT_BELOW),
    )[cls]
    return MRMotion(
        severity=round(float(rng.uniform(low, high)), 4),
        band_offset=round(float(rng.uniform(-0.15, 0.15)), 4),
        seed=int(rng.integers(2**31)),
    )


def apply_mr_motion(image: np.ndarray, motion: MRMotion, slice_index: int = 0) -> np.ndarray:
    """Corrupt one slice: phase errors of a moving head on a band of phase-encode lines.

    A translation (dx, dy) multiplies k-space by exp(-2 pi i (kx dx + ky dy) / N); applying it to
    only the lines acquired while the head was displaced gives ghosts along the phase-encode
    (column) direction. The band widens and the shifts grow with severity; the random trajectory
    is fixed by the seed, so a higher severity always contains the lower one's corruption.
    """
    if motion.severity <= 0:
        return image.astype(np.float32, copy=True)
    rows, cols = image.shape
    rng = np.random.default_rng([motion.seed, slice_index])
    k = np.fft.fftshift(np.fft.fft2(image))
    width = max(1, round(rows * (0.04 + 0.36 * motion.severity)))
    centre = rows // 2 + round(motion.band_offset * rows)
    lines = np.clip(np.arange(centre - width // 2, centre - width // 2 + width), 0, rows - 1)
    # A smooth random trajectory: the head drifts and jerks rather than jumping line to line.
    traj = np.cumsum(rng.standard_normal((rows, 2)), axis=0)[lines]
    traj = traj - traj[0]
    shifts = motion.severity * MAX_SHIFT_PX * traj / (np.abs(traj).max() + 1e-9)
    # Through-plane motion and eddy currents add a random phase per line on top of the shift.
    jitter = motion.severity * MAX_PHASE_RAD * rng.standard_normal(rows)[lines, None]
    ky = (lines - rows // 2)[:, None] / rows
    kx = (np.arange(cols) - cols // 2)[None, :] / cols
    phase = np.exp(-2j * np.pi * (kx * shifts[:, :1] + ky * shifts[:, 1:]) + 1j * jitter)
    k[lines, :] *= phase
    return np.abs(np.fft.ifft2(np.fft.ifftshift(k))).astype(np.float32)


def plan_mr_classes(n_series: int, seed: int) -> list[int | None]:
    """Quality classes (0 non-diagnostic, 1 diagnostic, 2 excellent) for a demo of `n_series`:
    CLASS_SHARES rounded by largest remainder, each class at least once from 3 series on, in a
    seeded order - so a small demo never lacks a class (12 random draws often had no
    non-diagnostic series). Below 3 series the classes are left to the draw (None)."""
    if n_series < 3:
        return [None] * n_series
    exact = [share * n_series for share in CLASS_SHARES]
    counts = [max(1, int(x)) for x in exact]
    by_remainder = sorted(range(3), key=lambda c: int(exact[c]) - exact[c])
    for i in range(n_series - sum(counts)):
        counts[by_remainder[i % 3]] += 1
    while sum(counts) > n_series:  # the "at least once" rule overshot a tiny demo
        counts[counts.index(max(counts))] -= 1
    plan = [c for c in range(3) for _ in range(counts[c])]
    order = np.random.default_rng([seed, 5]).permutation(n_series)
    return [plan[i] for i in order]
