"""Targets from ratings: MOS, majority votes, regrouped categories and class balance."""

import numpy as np
import pytest
import torch

from inference.targets import (
    MRI_DIAGNOSTIC,
    balanced_sampler,
    binary_targets,
    category_targets,
    class_weights,
    regression_targets,
    regroup,
    regroup_codes,
)

NAN = np.nan
MRI_CLASSES = ["non-diagnostic", "diagnostic", "excellent"]


def test_regression_target_is_the_mos_of_whoever_rated():
    scores = np.array([[7, 8, NAN], [NAN, NAN, NAN], [1, 2, 6]])
    mos = regression_targets(scores)
    assert mos[0] == 7.5 and np.isnan(mos[1]) and mos[2] == 3.0


def test_binary_and_category_majority_with_ties_left_unlabelled():
    codes = np.array([[1, 1, 0], [0, 1, -1], [-1, -1, -1]])
    assert binary_targets(codes).tolist() == [1, -1, -1]
    assert binary_targets(codes, tie_break=0).tolist() == [1, 0, -1]
    three = np.array([[2, 2, 1], [0, 1, 2]])
    assert category_targets(three, 3).tolist() == [2, -1]


def test_mri_regrouping_votes_before_the_majority():
    names, code_map = regroup(MRI_CLASSES, MRI_DIAGNOSTIC)
    assert names == ["non-diagnostic", "diagnostic"] and code_map.tolist() == [0, 1, 1]
    votes = np.array([[0, 1, 2], [0, 0, 2], [2, -1, 1]])
    # Three classes: a three-way tie; regrouped first, diagnostic wins 2 to 1.
    assert category_targets(votes, 3).tolist() == [-1, 0, -1]
    assert binary_targets(regroup_codes(votes, code_map)).tolist() == [1, 0, 1]
    assert regroup_codes(votes, code_map)[2].tolist() == [1, -1, 1]  # gaps stay gaps


def test_a_regrouping_must_place_every_category_once():
    with pytest.raises(ValueError, match="in no group"):
        regroup(MRI_CLASSES, {"bad": ["non-diagnostic"], "good": ["diagnostic"]})
    with pytest.raises(ValueError, match="two groups"):
        regroup(MRI_CLASSES, {"a": ["non-diagnostic", "diagnostic"], "b": MRI_CLASSES[1:]})
    with pytest.raises(ValueError, match="not a category"):
        regroup(MRI_CLASSES, {"a": ["poor"]})


def test_class_weights_balance_the_mri_papers_split():
    # Section 4.2: 518 non-diagnostic and 1592 diagnostic images.
    labels = np.array([0] * 518 + [1] * 1592 + [-1] * 7)
    weights = class_weights(labels, 2)
    np.testing.assert_allclose(weights, [2110 / (2 * 518), 2110 / (2 * 1592)], rtol=1e-6)
    # Each class then carries the same total weight in the loss.
    assert float(weights[0] * 518) == pytest.approx(float(weights[1] * 1592))
    loss = torch.nn.CrossEntropyLoss(weight=weights)
    assert loss(torch.zeros(2, 2), torch.tensor([0, 1])).item() == pytest.approx(np.log(2))


def test_balanced_sampler_draws_classes_equally_and_never_unlabelled():
    labels = np.array([0] * 50 + [1] * 950 + [-1] * 100)
    drawn = labels[list(balanced_sampler(labels, 2, num_samples=20000, seed=1))]
    assert (drawn >= 0).all()
    assert abs((drawn == 0).mean() - 0.5) < 0.02
    assert (
        list(balanced_sampler(labels, 2, seed=1))[:20]
        == list(balanced_sampler(labels, 2, seed=1))[:20]
    )
