"""The report's figures: what a reader sees is drawn, and a large set stays a small SVG."""

import numpy as np

from ratings.results import compare_figures
from ratings.stats.compare import compare


def test_figures_draw_at_most_5000_points_but_every_line():
    rng = np.random.default_rng(2)
    expert = rng.uniform(1, 10, 6000)
    model = expert + rng.normal(0, 0.5, 6000)
    report = compare(model, expert)
    svg = compare_figures.scatter_with_lines(model, expert, report["regression"])
    assert "5000 of 6000 points drawn" in svg and 'id="regression-line"' in svg
    ba = compare_figures.bland_altman_with_ci(model, expert, report["bland_altman"])
    assert 'id="ci-band-0"' in ba and "5000 of 6000 points drawn" in ba


def test_roc_marks_youden_and_the_confusion_matrix_has_a_cell_per_class_pair():
    report = compare([0.9, 0.8, 0.7, 0.2], [1, 0, 1, 0], labels=[1, 0, 1, 0])
    svg = compare_figures.roc_curve(report["roc"])
    assert 'id="roc-line"' in svg and 'id="youden-point"' in svg and "AUC 0.750" in svg
    matrix = {"classes": ["no", "yes"], "row_normalised": [[0.5, 0.5], [0.0, 1.0]]}
    cells = compare_figures.confusion_matrix(matrix)
    assert all(f'id="cell-{i}-{j}"' in cells for i in range(2) for j in range(2))
