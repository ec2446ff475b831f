"""Small generated datasets shared by the demo-data tests (generation is the slow part)."""

import pytest

from demo.synthetic.generate import generate_chest_dataset, generate_mr_dataset


@pytest.fixture(scope="session")
def chest_dataset(tmp_path_factory):
    """Eight radiographs from seed 4: DX and CR, both photometrics, patients with several images."""
    folder = tmp_path_factory.mktemp("chest")
    return folder, generate_chest_dataset(folder, 8, seed=4)


@pytest.fixture(scope="session")
def mr_dataset(tmp_path_factory):
    """Two MR series of five slices."""
    folder = tmp_path_factory.mktemp("mr")
    return folder, generate_mr_dataset(folder, 2, slices=5, seed=3)
