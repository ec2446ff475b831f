"""Intraclass correlations from REML variance components: every rating counts, gaps allowed.

The ANOVA forms (icc.py) need a complete table, so an image one rater skipped drops out: with
10 raters each missing 10% at random, about a third of the images remain. Here the variance
components of the two-way random model

    y_ij = mu + s_i + r_j + e_ij,   s ~ N(0, var_images), r ~ N(0, var_raters), e ~ N(0, var_res)

(and of the one-way model y_ij = mu + s_i + w_ij, for ICC(1)) are estimated by restricted maximum
likelihood from all the ratings there are (Patterson & Thompson 1971; Searle, Casella &
McCulloch 1992, ch. 6), as R's psych::ICC does with lme4 when data are missing. The ICC forms are
McGraw & Wong's (1996) definitions in terms of the components, k the number of raters:

    ICC(1)   = var_images / (var_images + var_within)
    ICC(A,1) = var_images / (var_images + var_raters + var_res)
    ICC(C,1) = var_images / (var_images + var_res)
    ICC(k), ICC(A,k), ICC(C,k): the same with the error terms divided by k.

On a complete table with positive ANOVA estimates, REML equals the ANOVA estimates (Searle et
al. 1992, 6.7), so these equal the Shrout & Fleiss values: tests check both that and agreement
with statsmodels' MixedLM on tables with gaps.

Computation: Henderson's mixed-model equations with the image effects absorbed (their block is
diagonal), so only a (1 + k)-square system is left; images with the same set of raters share
every term, so the likelihood is summed over missingness patterns, not images. Each evaluation
costs O(patterns * k^2), whatever the number of images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import linalg, optimize

from ._json import num
from .icc import FORMS, icc_from_mean_squares

LOG_RATIO_BOUNDS = (-30.0, 15.0)  # variance ratio to the residual: e^-30 counts as zero
# A residual variance this small a share of the ratings' variance is an exact fit.
EXACT_FIT = 1e-6
METHOD = "REML variance components from all ratings (McGraw & Wong 1996 forms)"


@dataclass(frozen=True)
class _Sufficient:
    """Everything the likelihood needs, summed per missingness pattern (y centred)."""

    n_images: int
    n_ratings: int
    n_raters: int
    masks: np.ndarray  # patterns x raters, bool: who rated the images of this pattern
    per_image: np.ndarray  # per pattern: ratings of each of its images
    design: np.ndarray  # per pattern: (ratings, then 0/1 per rater), the images' rows of X'Z
    count: np.ndarray  # images per pattern
    sum_y: np.ndarray  # per pattern: sum over its images of (sum of the image's ratings)
    sum_y2: np.ndarray  # per pattern: sum over its images of (sum of the image's ratings)^2
    rater_sum: np.ndarray  # per rater: sum of their ratings
    rater_n: np.ndarray  # per rater: number of ratings
    yy: float  # sum of squared ratings


def _sufficient(scores: np.ndarray) -> _Sufficient | None:
    x = np.asarray(scores, dtype=float)
    if x.ndim != 2:
        return None
    observed = ~np.isnan(x)
    x = x[:, observed.any(axis=0)]
    observed = observed[:, observed.any(axis=0)]
    rows = observed.any(axis=1)
    x, observed = x[rows], observed[rows]
    n_ratings = int(observed.sum())
    if n_ratings == 0:
        return None
    y = np.where(observed, x - x[observed].mean(), 0.0)
    if observed.shape[1] <= 63:  # one integer per pattern: a 1-d unique, ~10x faster
        keys = observed.astype(np.int64) @ (np.int64(1) << np.arange(observed.shape[1]))
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    else:
        _, first, inverse = np.unique(
            np.packbits(observed, axis=1), axis=0, return_index=True, return_inverse=True
        )
    masks = observed[first]
    per_image = masks.sum(axis=1).astype(float)
    inverse = inverse.ravel()
    image_sum = y.sum(axis=1)
    return _Sufficient(
        n_images=int(x.shape[0]),
        n_ratings=n_ratings,
        n_raters=int(x.shape[1]),
        masks=masks,
        per_image=per_image,
        design=np.column_stack([per_image, masks.astype(float)]),
        count=np.bincount(inverse, minlength=len(masks)).astype(float),
        sum_y=np.bincount(inverse, weights=image_sum, minlength=len(masks)),
        sum_y2=np.bincount(inverse, weights=image_sum**2, minlength=len(masks)),
        rater_sum=y.sum(axis=0),
        rater_n=observed.sum(axis=0).astype(float),
        yy=float((y**2).sum()),
    )


def _profile(stats: _Sufficient, log_ratios: np.ndarray, rater_effect: bool):
    """(-2 REML log-likelihood up to a constant, residual variance) at the given log ratios
    var_images / var_res and (two-way) var_raters / var_res."""
    if not np.all(np.isfinite(log_ratios)):
        return np.inf, np.nan
    ratio_images = np.exp(log_ratios[0])
    d = stats.per_image + 1.0 / ratio_images  # the absorbed diagonal block, per pattern
    # The remaining unknowns: mu, then (two-way) one effect per rater.
    if rater_effect:
        ratio_raters = np.exp(log_ratios[1])
        b = stats.design
        a = np.zeros((1 + stats.n_raters, 1 + stats.n_raters))
        a[0, 0] = stats.n_ratings
        a[0, 1:] = a[1:, 0] = stats.rater_n
        a[1:, 1:] = np.diag(stats.rater_n + 1.0 / ratio_raters)
        r = np.concatenate([[stats.sum_y.sum()], stats.rater_sum])
    else:
        b = stats.design[:, :1]
        a = np.array([[float(stats.n_ratings)]])
        r = np.array([stats.sum_y.sum()])
    weights = stats.count / d
    schur = a - (b.T * weights) @ b
    rhs = r - b.T @ (stats.sum_y / d)
    try:
        factor = linalg.cho_factor(schur)
    except linalg.LinAlgError:
        return np.inf, np.nan
    fixed = linalg.cho_solve(factor, rhs)
    quad = float(((stats.sum_y2 - (b @ fixed) * stats.sum_y) / d).sum() + fixed @ r)
    dof = stats.n_ratings - 1
    residual_ss = stats.yy - quad
    if not residual_ss > 1e-12 * max(stats.yy, 1.0):
        return np.inf, np.nan
    log_det = float((stats.count * np.log(d)).sum() + 2 * np.log(np.diag(factor[0])).sum())
    log_det += stats.n_images * log_ratios[0]
    if rater_effect:
        log_det += stats.n_raters * log_ratios[1]
    sigma2 = residual_ss / dof
    return dof * np.log(sigma2) + log_det, sigma2


def _fit(stats: _Sufficient, rater_effect: bool) -> dict[str, float] | None:
    """REML variance components. The REML surface of this model has one maximum in practice;
    other starts are tried only where the likelihood is not finite at the first."""
    dims = 2 if rater_effect else 1
    for start in (0.0, -3.0, 2.0):
        best = optimize.minimize(
            lambda t: _profile(stats, t, rater_effect)[0],
            np.full(dims, start),
            method="L-BFGS-B",
            bounds=[LOG_RATIO_BOUNDS] * dims,
            options={"ftol": 1e-14, "gtol": 1e-8},
        )
        if np.isfinite(best.fun):
            break
    else:
        return None
    # The rater component is often weakly determined (a flat likelihood over a few raters): a
    # simplex polish makes the result independent of the order of images and raters to ~1e-8.
    best = optimize.minimize(
        lambda t: _profile(stats, t, rater_effect)[0],
        best.x,
        method="Nelder-Mead",
        bounds=[LOG_RATIO_BOUNDS] * dims,
        options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 2000},
    )
    _, sigma2 = _profile(stats, best.x, rater_effect)
    # A ratio pinned at the lower bound is a component estimated at zero (the boundary).
    ratios = [0.0 if t <= LOG_RATIO_BOUNDS[0] + 1e-6 else float(np.exp(t)) for t in best.x]
    components = {"images": ratios[0] * sigma2, "residual": sigma2}
    if rater_effect:
        components["raters"] = ratios[1] * sigma2
    return components


def _exact_additive(scores: np.ndarray) -> dict[str, float]:
    """Components when every rating is image effect + rater effect exactly (no residual): the
    likelihood has no maximum there, so take the sample variances of the effects, found by
    alternating means (Gauss-Seidel on the normal equations). On a complete table these are the
    ANOVA estimates, (BMS - EMS) / k and (JMS - EMS) / n with EMS = 0."""
    x = np.asarray(scores, dtype=float)
    x = x[:, ~np.isnan(x).all(axis=0)]
    x = x[~np.isnan(x).all(axis=1)]
    rater = np.zeros(x.shape[1])
    for _ in range(500):
        image = np.nanmean(x - rater, axis=1)
        new = np.nanmean(x - image[:, None], axis=0)
        new -= new.mean()
        done = np.allclose(new, rater, rtol=0, atol=1e-12)
        rater = new
        if done:
            break
    return {"images": float(np.var(image, ddof=1)), "raters": float(np.var(rater, ddof=1))}


def _forms(
    two_way: tuple[float, float, float], one_way: tuple[float, float], n: float, k: int
) -> dict[str, dict[str, Any]]:
    """The six forms with intervals from the components, as psych::ICC does with lme4: the mean
    squares of a complete n x k table (BMS = k var_images + var_res, JMS = n var_raters +
    var_res, EMS = var_res; one-way BMS = k var_images + var_within, WMS = var_within) go
    through the ANOVA interval formulas. The point values are exactly the component ratios,
    whatever n. Unlike psych, n is the complete-table equivalent of the ratings there are
    (ratings / k), not the number of images, so gaps widen the intervals: simulated 60 x 5
    tables, 400 each, gave 93% (15% missing) and 95% (40%) coverage for ICC(C,1) where the
    number of images gave 92% at 15%; ICC(A,1) 90-92%, as the complete-table F approximation
    itself (91% on the same tables' complete cases)."""
    s, r, e = two_way
    s1, w = one_way
    with np.errstate(divide="ignore", invalid="ignore"):
        two = icc_from_mean_squares(
            {"BMS": k * s + e, "WMS": r + e, "JMS": n * r + e, "EMS": e}, n, k
        )
        one = icc_from_mean_squares({"BMS": k * s1 + w, "WMS": w, "JMS": w, "EMS": w}, n, k)
    rows = {key: two[key] for key in ("ICC2", "ICC3", "ICC2k", "ICC3k")}
    rows.update({key: one[key] for key in ("ICC1", "ICC1k")})
    return {key: {name: rows[key][name] for name in ("name", "value", "ci95")} for key in rows}


def icc_reml(scores: np.ndarray) -> dict[str, Any]:
    """ICC(1), ICC(A,1), ICC(C,1) and their k-rater averages from every rating in `scores`
    (images x raters, NaN where a rater did not rate), with the variance components.

    Values are None with fewer than 2 images rated twice or more, fewer than 2 raters, or no
    variation at all.
    """
    scores = np.asarray(scores, dtype=float)
    stats = _sufficient(scores)
    out: dict[str, Any] = {
        "method": METHOD,
        "n_images_used": 0,
        "n_ratings_used": 0,
        "variance": {"images": None, "raters": None, "residual": None, "within_images": None},
        **{key: {"name": name, "value": None, "ci95": [None, None]} for key, name in FORMS.items()},
    }
    if stats is None:
        return out
    rated_twice = int(stats.count[stats.per_image >= 2].sum())
    out["n_images_used"], out["n_ratings_used"] = stats.n_images, stats.n_ratings
    if rated_twice < 2 or stats.n_raters < 2 or stats.yy == 0:  # yy: centred, so no variation
        return out
    two_way = _fit(stats, rater_effect=True)
    one_way = _fit(stats, rater_effect=False)
    if two_way is None or one_way is None:
        return out
    s, r, e = two_way["images"], two_way["raters"], two_way["residual"]
    if e <= EXACT_FIT * stats.yy / stats.n_ratings:
        s, r, e = *_exact_additive(scores).values(), 0.0
    s1, w = one_way["images"], one_way["residual"]
    if w <= EXACT_FIT * stats.yy / stats.n_ratings:  # each image's ratings all equal
        rated = ~np.isnan(scores).all(axis=1)
        s1, w = float(np.var(np.nanmax(scores[rated], axis=1), ddof=1)), 0.0
    out["variance"] = {
        "images": num(s),
        "raters": num(r),
        "residual": num(e),
        "within_images": num(w),
    }
    complete_equivalent = stats.n_ratings / stats.n_raters
    out.update(_forms((s, r, e), (s1, w), complete_equivalent, stats.n_raters))
    return out
