"""Majority vote and its documented tie rule."""

import numpy as np

from ratings.stats.majority import majority_vote

# classes: 0 = acceptable, 1 = non-acceptable
CODES = np.array(
    [
        [0, 0, 1],  # 2-1 -> acceptable
        [0, 1, -1],  # 1-1 tie
        [1, 1, 1],  # unanimous non-acceptable
        [-1, -1, -1],  # nobody rated
    ]
)


def test_tie_gives_null_label_and_flag():
    vote = majority_vote(CODES, 2)
    assert vote.label.tolist() == [0, -1, 1, -1]
    assert vote.tied.tolist() == [False, True, False, False]
    assert vote.votes.tolist() == [2, 1, 3, 0]
    assert vote.n.tolist() == [3, 2, 3, 0]


def test_conservative_tie_break_keeps_the_tie_visible():
    vote = majority_vote(CODES, 2, tie_break=1)
    assert vote.label.tolist() == [0, 1, 1, -1]
    assert vote.tied.tolist() == [False, True, False, False]


def test_tie_break_class_not_among_tied_classes_stays_null():
    codes = np.array([[0, 1, 2, 2, 1]])  # classes 1 and 2 tie; 0 is not among them
    assert majority_vote(codes, 3, tie_break=0).label.tolist() == [-1]
