"""The same seed gives the same files and the same readings; another seed does not."""

import hashlib

import numpy as np

from demo.synthetic.degrade import chest_truth, random_chest_degradation
from demo.synthetic.generate import generate_chest_dataset, generate_mr_dataset
from demo.synthetic.raters import simulate_chest_ratings


def _digest(paths):
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


def test_same_seed_same_bytes_whatever_the_worker_count(tmp_path):
    one = generate_chest_dataset(tmp_path / "a", 3, seed=9)
    two = generate_chest_dataset(tmp_path / "b", 3, seed=9, workers=2)
    other = generate_chest_dataset(tmp_path / "c", 3, seed=10)
    assert _digest(i.path for i in one) == _digest(i.path for i in two)
    assert [i.truth for i in one] == [i.truth for i in two]
    assert _digest(i.path for i in one) != _digest(i.path for i in other)


def test_unique_uids_differ_between_runs(tmp_path):
    import pydicom

    a = generate_chest_dataset(tmp_path / "a", 1, seed=9, unique_uids=True)
    b = generate_chest_dataset(tmp_path / "b", 1, seed=9, unique_uids=True)
    uid_a, uid_b = (pydicom.dcmread(x[0].path).SOPInstanceUID for x in (a, b))
    assert uid_a != uid_b


def test_mr_same_seed_same_bytes(tmp_path):
    a = generate_mr_dataset(tmp_path / "a", 1, slices=2, seed=5)
    b = generate_mr_dataset(tmp_path / "b", 1, slices=2, seed=5)
    assert _digest(a[0].paths) == _digest(b[0].paths)


def test_readings_repeat_and_do_not_depend_on_image_order():
    rng = np.random.default_rng(0)
    truths = {f"img{i}": chest_truth(random_chest_degradation(rng)) for i in range(30)}
    first = simulate_chest_ratings(truths, seed=2)
    assert first == simulate_chest_ratings(truths, seed=2)
    assert first != simulate_chest_ratings(truths, seed=3)
    reversed_truths = dict(reversed(list(truths.items())))
    values = lambda recs: {(r.image_key, r.rater_key): r.values for r in recs}  # noqa: E731
    assert values(first) == values(simulate_chest_ratings(reversed_truths, seed=2))
