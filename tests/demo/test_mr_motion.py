"""MR motion: ghosting grows with severity, classes follow it, and most series are diagnostic."""

import numpy as np

from demo.synthetic.metrics import ghost_ratio
from demo.synthetic.mr_motion import (
    MRMotion,
    apply_mr_motion,
    mr_quality_class,
    random_mr_motion,
)
from demo.synthetic.phantoms import brain_phantom, random_brain_anatomy


def test_ghosting_grows_and_class_falls_with_severity():
    clean = brain_phantom(random_brain_anatomy(np.random.default_rng(2)), 0.1)
    background = clean < 0.02
    severities = [0.0, 0.1, 0.3, 0.5, 0.7, 0.9]
    ghosts = [
        ghost_ratio(apply_mr_motion(clean, MRMotion(s, 0.05, seed=8), 3), clean, background)
        for s in severities
    ]
    assert ghosts[0] == 0.0
    assert np.all(np.diff(ghosts) > 0)
    assert [mr_quality_class(s) for s in severities] == [2, 2, 1, 1, 0, 0]


def test_class_imbalance_most_series_diagnostic():
    rng = np.random.default_rng(0)
    counts = np.bincount([mr_quality_class(random_mr_motion(rng).severity) for _ in range(2000)])
    shares = counts / counts.sum()
    assert shares[1] > 0.5
    assert 0.1 < shares[0] < 0.3 and 0.1 < shares[2] < 0.35
