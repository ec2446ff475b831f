"""The MR demo in the MRI paper's shape: all three classes, and two raters who disagree."""

from collections import Counter

import numpy as np

from demo.seeding import DemoSize
from demo.synthetic.mr_motion import mr_quality_class, plan_mr_classes, random_mr_motion
from demo.synthetic.raters import MR_QUALITY, simulate_mr_ratings
from ratings.stats.jaccard import jaccard_matrix
from ratings.stats.kappa import kappa_from_confusion


def demo_severities(n_series: int, seed: int) -> dict[str, float]:
    """The true motion severities of a demo of n_series, drawn as generate_mr_dataset does."""
    plan = plan_mr_classes(n_series, seed)
    return {
        f"mr-{s:04d}": random_mr_motion(np.random.default_rng([seed, 3, s]), plan[s]).severity
        for s in range(n_series)
    }


def test_every_class_is_in_the_demo_in_the_papers_proportions():
    for n in (3, 12, DemoSize.mr_series):
        classes = Counter(mr_quality_class(s) for s in demo_severities(n, 2026).values())
        assert set(classes) == {0, 1, 2}, n
        assert classes[1] == max(classes.values())  # most series are diagnostic, as in the paper


def test_the_two_mr_raters_disagree_like_the_papers_figure():
    severities = demo_severities(DemoSize.mr_series, 2026)
    records = simulate_mr_ratings(severities, seed=2026)
    by_rater: dict[str, dict[str, int]] = {}
    for r in records:
        by_rater.setdefault(r.rater_key, {})[r.image_key] = int(r.values[MR_QUALITY])
    a, b = by_rater.values()
    confusion = np.zeros((3, 3))
    for key in severities:
        confusion[a[key], b[key]] += 1
    kappa = kappa_from_confusion(confusion)
    diagonal = np.diag(jaccard_matrix(confusion))
    # Far from a perfect match (kappa 1, diagonal 1.00), and still well above chance.
    assert 0.3 < kappa < 0.85, kappa
    assert np.all(diagonal < 0.9) and np.all(diagonal > 0.3), diagonal
    assert confusion.sum() - np.trace(confusion) >= 0.15 * len(severities)
