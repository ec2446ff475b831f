"""Fixtures of the inference tests."""

import pytest

from tests.inference.rated import make_rated_study


@pytest.fixture
def rated_study(people, tmp_path):
    """Radiographs whose gray-level MOS falls with their blur, rated by two raters, split."""
    return make_rated_study(people, tmp_path)
