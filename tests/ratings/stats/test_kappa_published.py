"""Cohen's and Fleiss' kappa reproduce published worked examples; sklearn / statsmodels agree."""

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from ratings.stats.coding import codes_from_values, confusion
from ratings.stats.kappa import (
    fleiss_kappa,
    fleiss_kappa_counts,
    kappa_from_confusion,
    pairwise_cohen,
)

# Altman (1991), Practical Statistics for Medical Research, Table 14.2: 85 xeromammograms
# by two radiologists (Boyd et al. 1982); rows radiologist A, columns radiologist B, classes
# normal / benign / suspected cancer / cancer. Section 14.3: kappa = 0.47, weighted kappa
# (linear agreement weights 1 - |i-j|/(g-1), section 14.3.4) = 0.57.
ALTMAN_14_2 = np.array([[21, 12, 0, 0], [4, 17, 1, 0], [3, 9, 15, 2], [0, 0, 0, 1]])

# Fleiss' kappa worked example (10 subjects x 14 raters, 5 categories; kappa = 0.210),
# reproduced in the Fleiss' kappa literature and Wikipedia's article.
FLEISS_10x14 = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)


def _expand(table):
    """Two label vectors whose confusion matrix is ``table``."""
    a, b = [], []
    for i in range(table.shape[0]):
        for j in range(table.shape[1]):
            a += [i] * int(table[i, j])
            b += [j] * int(table[i, j])
    return np.array(a), np.array(b)


def test_altman_unweighted_and_linear():
    assert round(kappa_from_confusion(ALTMAN_14_2, "unweighted"), 2) == 0.47
    assert round(kappa_from_confusion(ALTMAN_14_2, "linear"), 2) == 0.57


@pytest.mark.parametrize("weights", ["unweighted", "linear", "quadratic"])
def test_altman_matches_sklearn(weights):
    a, b = _expand(ALTMAN_14_2)
    sk = cohen_kappa_score(a, b, weights=None if weights == "unweighted" else weights)
    assert kappa_from_confusion(ALTMAN_14_2, weights) == pytest.approx(sk, abs=1e-12)


def test_pairwise_from_bincount_matches_sklearn_with_missing():
    rng = np.random.default_rng(7)
    truth = rng.integers(1, 11, size=300)
    x = np.clip(truth[:, None] + rng.integers(-2, 3, size=(300, 4)), 1, 10).astype(float)
    x[rng.random(x.shape) < 0.1] = np.nan
    codes, values = codes_from_values(x)
    ours = pairwise_cohen(codes, len(values), ["a", "b", "c", "d"], positions=values)
    both = ~np.isnan(x[:, 0]) & ~np.isnan(x[:, 2])
    for weights, key in [(None, "unweighted"), ("linear", "linear"), ("quadratic", "quadratic")]:
        sk = cohen_kappa_score(x[both, 0], x[both, 2], weights=weights, labels=values)
        assert ours["a|c"][key] == pytest.approx(sk, abs=1e-12)
    assert ours["a|c"]["n_images"] == int(both.sum())


def test_confusion_is_bincount_of_pairs():
    a = np.array([0, 1, 1, -1, 2])
    b = np.array([0, 1, 2, 0, -1])
    assert confusion(a, b, 3).tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 0]]


def test_kappa_undefined_when_both_raters_use_one_class():
    assert kappa_from_confusion(np.array([[5, 0], [0, 0]]), "unweighted") is None
    assert kappa_from_confusion(np.zeros((2, 2)), "unweighted") is None


def test_unordered_categories_have_no_weighted_kappa():
    codes = np.array([[0, 0], [1, 1], [2, 1]])
    out = pairwise_cohen(codes, 3, ["a", "b"], ordered=False)["a|b"]
    assert out["unweighted"] is not None and out["linear"] is None and out["quadratic"] is None


def test_fleiss_published_example():
    kappa, used = fleiss_kappa_counts(FLEISS_10x14)
    assert round(kappa, 3) == 0.210
    assert used == 10
    assert kappa == pytest.approx(sm_fleiss_kappa(FLEISS_10x14), abs=1e-12)


def test_fleiss_with_missing_ratings_uses_each_image_own_count():
    # Complete images give statsmodels' value; an image with one rating is not pairable.
    codes = np.array([[0, 0, 1], [1, 1, 1], [0, 2, 2], [2, -1, -1]])
    kappa, used = fleiss_kappa(codes, 3)
    assert used == 3
    table = np.array([[2, 1, 0], [0, 3, 0], [1, 0, 2]])
    assert kappa == pytest.approx(sm_fleiss_kappa(table), abs=1e-12)


def test_fleiss_undefined_with_a_single_class():
    assert fleiss_kappa(np.zeros((4, 3), dtype=int), 2) == (None, 4)
