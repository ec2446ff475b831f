"""The low-score-weighted loss with per-level auxiliary terms (chest paper, Eqs. 1-2, as read in
inference/losses.py), against values worked by hand."""

import pytest
import torch

from inference.losses import cahdc_loss, low_score_weighted

# Two images rated 2 and 10, predicted 3 and 9: the same error of 1 each.
TARGET = torch.tensor([2.0, 10.0])
SCORE = torch.tensor([3.0, 9.0])


def test_main_term_by_hand():
    # alpha = 1: (1^2 / 2 + 1^2 / 10) / 2 = (0.5 + 0.1) / 2 = 0.3
    assert low_score_weighted(SCORE, TARGET).item() == pytest.approx(0.3)
    # alpha = 2: (1 / 4 + 1 / 100) / 2 = 0.13
    assert low_score_weighted(SCORE, TARGET, alpha=2).item() == pytest.approx(0.13)
    # alpha = 0 is the plain mean squared error.
    assert low_score_weighted(SCORE, TARGET, alpha=0).item() == pytest.approx(1.0)


def test_an_error_on_a_low_score_image_costs_more():
    low = low_score_weighted(torch.tensor([3.0]), torch.tensor([2.0]))
    high = low_score_weighted(torch.tensor([11.0]), torch.tensor([10.0]))
    assert low.item() == pytest.approx(5 * high.item())


def test_over_and_under_estimates_cost_the_same():
    # The weight is the truth's, not the prediction's: +-1 around 4 costs 1/4 either way.
    over = low_score_weighted(torch.tensor([5.0]), torch.tensor([4.0]))
    under = low_score_weighted(torch.tensor([3.0]), torch.tensor([4.0]))
    assert over.item() == under.item() == pytest.approx(0.25)


def test_full_loss_with_side_levels_by_hand():
    sides = torch.tensor([[2.0, 2.0, 4.0, 1.0], [10.0, 10.0, 10.0, 6.0]])
    # main 0.3; Q1, Q2 exact: 0; Q3: (2^2 / 2 + 0) / 2 = 1.0; Q4: (1 / 2 + 16 / 10) / 2 = 1.05
    # L = 0.3 + 0.1 * (0 + 0 + 1.0 + 1.05) = 0.505
    assert cahdc_loss(SCORE, sides, TARGET).item() == pytest.approx(0.505)
    # b_i = 0 leaves the main term alone.
    assert cahdc_loss(SCORE, sides, TARGET, side_weights=(0, 0, 0, 0)).item() == pytest.approx(0.3)


def test_gradient_by_hand():
    score = SCORE.clone().requires_grad_()
    low_score_weighted(score, TARGET).backward()
    # d/ds mean((s - t)^2 / t) = 2 (s - t) / (t N): [2 * 1 / (2 * 2), 2 * -1 / (10 * 2)]
    assert score.grad.tolist() == pytest.approx([0.5, -0.1])


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="positive"):
        low_score_weighted(SCORE, torch.tensor([0.0, 5.0]))
    with pytest.raises(ValueError):
        low_score_weighted(SCORE, TARGET[:1])
    with pytest.raises(ValueError):
        cahdc_loss(SCORE, torch.zeros(2, 3), TARGET)
