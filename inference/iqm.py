"""Image-quality metrics (IQMs) computed from the pixels, for the head-CT paper's route.

Each metric is a plain number from a greyscale image of display values in [0, 1] (what
`inference.preprocess.prepare` gives, so the metrics see what a rater saw). They feed the
interpretable linear regression in `inference.iqm_regression`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

# Name -> what it measures, in the order of `metric_vector`. Shown beside the coefficients.
METRICS: dict[str, str] = {
    "noise_sigma": "noise SD estimate, fraction of full scale (Immerkaer 1996 mask, MAD)",
    "snr_db": "foreground mean over noise SD, in dB",
    "cnr_db": "foreground minus background mean over noise SD, in dB",
    "gradient_sharpness": "mean Sobel gradient magnitude (Tenengrad, Krotkov 1987)",
    "laplacian_sharpness": "log10 variance of the Laplacian (Pech-Pacheco et al. 2000)",
    "entropy_bits": "Shannon entropy of the 256-bin histogram, bits",
    "mean": "mean display value",
    "p01": "1st percentile of the display values",
    "p50": "median display value",
    "p99": "99th percentile of the display values",
    "dynamic_range": "p99 - p01",
    # Gray-level quality falls both ways from a good exposure (burnt-out or washed-out), which a
    # linear fit on the mean alone cannot follow; these distances from mid-grey can.
    "mean_from_midgrey": "|mean - 0.5|: distance of the mean display value from mid-grey",
    "median_from_midgrey": "|p50 - 0.5|: distance of the median display value from mid-grey",
    "noise_to_range": "noise SD over the p01-p99 range: noise relative to the contrast",
    "band_detail_ratio": (
        "log of fine (Gaussian sigma 1-3 px) over coarse (3-9 px) band-pass SD: falls with blur, "
        "whatever the contrast"
    ),
    "clipped_low": "fraction of pixels at black",
    "clipped_high": "fraction of pixels at white",
}
METRIC_NAMES = tuple(METRICS)

# Floors keep the logarithms finite on a noiseless or flat synthetic image.
NOISE_FLOOR = 1e-4
VARIANCE_FLOOR = 1e-12
MAD_TO_SD = 0.6744897501960817  # the standard normal's 75th percentile
CLIP_MARGIN = 0.5 / 255.0  # within half an 8-bit step of the ends counts as clipped

# Immerkaer's mask: the difference of two Laplacian approximations, blind to a locally
# linear (and nearly blind to a smooth) image, so it responds to noise rather than structure.
_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)


def noise_sigma(image: np.ndarray) -> float:
    """Noise SD estimate: median |I * N| / (6 * 0.6745) over the interior.

    Sources: the mask N is J. Immerkaer's, "Fast Noise Variance Estimation", CVIU 64(2),
    1996; for white noise of SD s its response is normal with SD 6 s (the mask's squares sum
    to 36). Immerkaer averages |I * N|; we take the median, Donoho & Johnstone's (1994) robust
    scale (MAD / 0.6745), so that the few pixels on strong edges do not inflate the estimate
    (12% on a disc phantom with the mean, under 2% with the median).
    """
    x = np.asarray(image, dtype=np.float64)
    rows, cols = x.shape
    if rows < 3 or cols < 3:
        raise ValueError("image must be at least 3x3")
    response = ndimage.convolve(x, _IMMERKAER, mode="nearest")[1:-1, 1:-1]
    return float(np.median(np.abs(response)) / (6.0 * MAD_TO_SD))


def otsu_threshold(image: np.ndarray, bins: int = 256) -> float:
    """Threshold maximising the between-class variance of the histogram (Otsu 1979)."""
    x = np.asarray(image, dtype=np.float64).ravel()
    low, high = float(x.min()), float(x.max())
    if high <= low:
        return low
    hist, edges = np.histogram(x, bins=bins, range=(low, high))
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist).astype(np.float64)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu0 = m0 / w0
        mu1 = (m0[-1] - m0) / w1
        between = w0 * w1 * (mu0 - mu1) ** 2
    between[~np.isfinite(between)] = -1.0
    return float(edges[int(np.argmax(between)) + 1])


def regions(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Automatic foreground (above Otsu) and background masks, each eroded away from the
    boundary between them so that edges do not count as signal variation."""
    x = np.asarray(image, dtype=np.float64)
    above = x > otsu_threshold(x)
    # Erode by ~1% of the shorter side, but never to nothing.
    steps = max(1, min(x.shape) // 100)
    # A square erosion as a minimum filter: separable, so ~10x faster than binary_erosion.
    size = 2 * steps + 1
    fg = ndimage.minimum_filter(above.astype(np.uint8), size=size).astype(bool)
    bg = ndimage.minimum_filter((~above).astype(np.uint8), size=size).astype(bool)
    return (fg if fg.any() else above), (bg if bg.any() else ~above)


def compute_iqms(image: np.ndarray) -> dict[str, float]:
    """Every metric in METRICS for one greyscale image of display values in [0, 1]."""
    x = np.asarray(image, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected one greyscale image (rows, cols), got shape {x.shape}")
    sigma = noise_sigma(x)
    noise = max(sigma, NOISE_FLOOR)
    fg, bg = regions(x)
    fg_mean = float(x[fg].mean()) if fg.any() else float(x.mean())
    bg_mean = float(x[bg].mean()) if bg.any() else float(x.mean())
    gx, gy = ndimage.sobel(x, axis=1), ndimage.sobel(x, axis=0)
    laplacian_var = float(ndimage.laplace(x).var())
    hist, _ = np.histogram(x, bins=256, range=(0.0, 1.0))
    p = hist[hist > 0] / x.size
    p01, p50, p99 = np.percentile(x, [1.0, 50.0, 99.0])
    return {
        "noise_sigma": sigma,
        "snr_db": 20.0 * math.log10(max(fg_mean, NOISE_FLOOR) / noise),
        "cnr_db": 20.0 * math.log10(max(abs(fg_mean - bg_mean), NOISE_FLOOR) / noise),
        "gradient_sharpness": float(np.hypot(gx, gy).mean()),
        "laplacian_sharpness": math.log10(max(laplacian_var, VARIANCE_FLOOR)),
        "entropy_bits": float(-(p * np.log2(p)).sum()),
        "mean": float(x.mean()),
        "p01": float(p01),
        "p50": float(p50),
        "p99": float(p99),
        "dynamic_range": float(p99 - p01),
        "mean_from_midgrey": abs(float(x.mean()) - 0.5),
        "median_from_midgrey": abs(float(p50) - 0.5),
        "noise_to_range": sigma / max(float(p99 - p01), NOISE_FLOOR),
        "band_detail_ratio": band_detail_ratio(x),
        "clipped_low": float((x <= CLIP_MARGIN).mean()),
        "clipped_high": float((x >= 1.0 - CLIP_MARGIN).mean()),
    }


def band_detail_ratio(image: np.ndarray) -> float:
    """log(SD of the 1-3 px band / SD of the 3-9 px band), difference-of-Gaussians bands.

    Blur removes the fine band before the coarse one, and a change of contrast or gamma
    scales both alike, so the ratio tracks sharpness apart from the gray level (which raw
    gradient and Laplacian energy do not: they grow with contrast). Scales are in pixels
    of the image as given (the configured input size).
    """
    x = np.asarray(image, dtype=np.float64)
    fine, middle, coarse = (ndimage.gaussian_filter(x, s, mode="nearest") for s in (1, 3, 9))
    return math.log(max(float(np.std(fine - middle)), NOISE_FLOOR)) - math.log(
        max(float(np.std(middle - coarse)), NOISE_FLOOR)
    )


def metric_vector(image: np.ndarray) -> np.ndarray:
    """The metrics of one image as a vector in METRIC_NAMES order."""
    values = compute_iqms(image)
    return np.array([values[name] for name in METRIC_NAMES], dtype=np.float64)


def metric_table(images) -> np.ndarray:
    """Images x metrics array (METRIC_NAMES columns) for an iterable of images."""
    return np.stack([metric_vector(image) for image in images])
