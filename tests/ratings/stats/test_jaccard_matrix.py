"""Class x class Jaccard matrix between two raters (MRI paper fig. 6), worked by hand."""

import numpy as np
import pytest

from ratings.stats.coding import bin_scores
from ratings.stats.jaccard import jaccard_matrix, pairwise_jaccard

# Six images, classes 0 = poor, 1 = moderate, 2 = excellent; rater B skipped image 6.
A = [0, 0, 1, 1, 2, 2]
B = [0, 1, 1, 1, 1, -1]
# Over the 5 images both rated (1-5):
#   A_0 = {1,2}, A_1 = {3,4}, A_2 = {5};  B_0 = {1}, B_1 = {2,3,4,5}, B_2 = {}.
#   (0,0): |{1}| / |{1,2}| = 1/2          (0,1): |{2}| / |{1,2,3,4,5}| = 1/5
#   (0,2): 0 / |{1,2}| = 0                (1,0): 0 / |{1,3,4}| = 0
#   (1,1): |{3,4}| / |{2,3,4,5}| = 2/4    (1,2): 0 / |{3,4}| = 0
#   (2,0): 0 / |{1,5}| = 0                (2,1): |{5}| / |{2,3,4,5}| = 1/4
#   (2,2): 0 / |{5}| = 0
EXPECTED = [[0.5, 0.2, 0.0], [0.0, 0.5, 0.0], [0.0, 0.25, 0.0]]


def test_hand_worked_example():
    codes = np.array([A, B]).T
    out = pairwise_jaccard(codes, ["poor", "moderate", "excellent"], ["alice", "bob"])
    cell = out["alice|bob"]
    assert cell["classes"] == ["poor", "moderate", "excellent"]
    assert cell["n_images"] == 5
    assert cell["matrix"] == [pytest.approx(row) for row in EXPECTED]


def test_empty_class_pair_is_null():
    # Neither rater used class 2 over the shared images: 0/0 -> None, not 0.
    conf = np.array([[2, 0, 0], [1, 1, 0], [0, 0, 0]])
    m = jaccard_matrix(conf)
    assert np.isnan(m[2, 2])
    out = pairwise_jaccard(np.array([[0, 0], [0, 0], [1, 0], [1, 1]]), ["a", "b", "c"], ["x", "y"])
    assert out["x|y"]["matrix"][2][2] is None


def test_perfect_agreement_is_identity():
    codes = np.array([[0, 0], [1, 1], [2, 2], [2, 2]])
    m = pairwise_jaccard(codes, ["p", "m", "e"], ["x", "y"])["x|y"]["matrix"]
    assert m == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]


def test_default_bins_follow_chest_paper_grades():
    codes, labels = bin_scores(np.array([[1, 4, 5], [7, 8, 10], [np.nan, 2, 9]]))
    assert labels == ["poor", "moderate", "excellent"]
    assert codes.tolist() == [[0, 0, 1], [1, 2, 2], [-1, 0, 2]]


def test_custom_bins_and_out_of_range():
    codes, labels = bin_scores(np.array([[1.0, 6.0]]), bins=[("low", 1, 5), ("high", 6, 10)])
    assert labels == ["low", "high"] and codes.tolist() == [[0, 1]]
    with pytest.raises(ValueError):
        bin_scores(np.array([[11.0]]))
