"""The learning-rate schedule and Adam settings of the chest paper (Eq. 3), against hand values."""

import pytest
import torch

from inference.schedule import lr_at, make_optimizer, set_lr

# max(1e-3 * 0.8 ** (0.01 t), 3e-5), worked by hand:
#   t = 0:    0.8 ** 0   = 1                         -> 1e-3
#   t = 100:  0.8 ** 1   = 0.8                       -> 8e-4
#   t = 250:  0.8 ** 2.5 = 0.64 * 0.894427191        -> 5.72433402e-4
#   t = 1500: 0.8 ** 15  = 0.32768 ** 3 = 0.0351844  -> 3.51843721e-5 (still above the floor)
#   t = 1600: 0.8 ** 16  = 0.0281475 -> 2.81e-5 < 3e-5 -> 3e-5 (the floor)
HAND_VALUES = [
    (0, 1e-3),
    (100, 8e-4),
    (250, 5.72433402e-4),
    (1500, 3.51843721e-5),
    (1600, 3e-5),
    (100_000, 3e-5),
]


@pytest.mark.parametrize(("step", "expected"), HAND_VALUES)
def test_lr_matches_hand_computed_values(step, expected):
    assert lr_at(step) == pytest.approx(expected, rel=1e-7)


def test_floor_is_reached_between_steps_1571_and_1572():
    # 0.01 t = ln(0.03) / ln(0.8) = -3.5065579 / -0.2231436 = 15.7144, so t = 1571.44.
    assert lr_at(1571) > 3e-5
    assert lr_at(1572) == 3e-5


def test_other_schedule_parameters_are_used():
    # 1e-2 * 0.5 ** 2 = 2.5e-3; the floor 4e-3 is above it.
    assert lr_at(200, alpha0=1e-2, d=0.5, alpha_m=1e-4) == pytest.approx(2.5e-3)
    assert lr_at(200, alpha0=1e-2, d=0.5, alpha_m=4e-3) == 4e-3


def test_negative_step_is_refused():
    with pytest.raises(ValueError):
        lr_at(-1)


def test_optimizer_has_the_papers_adam_settings_and_follows_the_schedule():
    weight = torch.nn.Parameter(torch.zeros(3))
    optimizer = make_optimizer([weight])
    group = optimizer.param_groups[0]
    assert isinstance(optimizer, torch.optim.Adam)
    assert group["betas"] == (0.9, 0.999)
    assert group["eps"] == 1e-8
    assert group["lr"] == 1e-3
    assert set_lr(optimizer, 100) == pytest.approx(8e-4)
    assert group["lr"] == pytest.approx(8e-4)
