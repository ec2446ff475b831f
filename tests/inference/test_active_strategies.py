"""Active-learning strategies on constructed pools whose right answer is known by hand."""

import numpy as np
import pytest
import torch

from inference.active.strategies import (
    diversity_ranking,
    ensemble_ranking,
    entropy,
    hybrid_ranking,
    k_center_greedy,
    margin,
    mc_dropout_passes,
    random_ranking,
    uncertainty_ranking,
    vote_entropy,
)
from inference.nets import build_model, dropout_split, embed
from inference.training.engine import outputs


def test_random_is_reproducible_by_seed_and_draws_without_replacement():
    a = random_ranking(100, 10, seed=7)
    assert a.indices == random_ranking(100, 10, seed=7).indices
    assert a.indices != random_ranking(100, 10, seed=8).indices
    assert len(set(a.indices)) == 10 and all(0 <= i < 100 for i in a.indices)
    assert random_ranking(3, 10, seed=0).indices.__len__() == 3  # k larger than the pool
    assert "seed 7" in a.items[0].reason


def test_the_item_whose_mc_passes_spread_most_ranks_first():
    rng = np.random.default_rng(0)
    samples = 5.0 + rng.normal(0.0, 0.1, size=(10, 50))
    samples[:, 17] = 5.0 + rng.normal(0.0, 2.0, size=10)  # the one the model is unsure of
    samples[:, 3] = 5.0 + rng.normal(0.0, 0.8, size=10)  # the second
    ranking = uncertainty_ranking(2, mc_samples=samples)
    assert ranking.indices == [17, 3]
    first = ranking.items[0]
    assert first.score == pytest.approx(np.std(samples[:, 17], ddof=1))
    assert first.reason == f"MC-dropout SD {first.score:.2f} (top 2%)"  # 1 of 50


def test_entropy_and_margin_match_hand_values_and_pick_the_undecided_image():
    p = np.array([[0.98, 0.01, 0.01], [0.4, 0.35, 0.25], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0.0]])
    assert entropy(p)[2] == pytest.approx(np.log(3))
    assert entropy(p)[3] == pytest.approx(np.log(2))
    assert margin(p) == pytest.approx([0.97, 0.05, 0.0, 0.0])
    assert uncertainty_ranking(1, probabilities=p).indices == [2]  # highest entropy
    # Margin: the two zero margins tie; the stable order keeps the pool's order.
    assert uncertainty_ranking(3, probabilities=p, measure="margin").indices == [2, 3, 1]
    with pytest.raises(ValueError, match="either"):
        uncertainty_ranking(1)


def test_ensemble_disagreement_is_the_spread_between_members():
    scores = np.array([[5.0, 2.0, 8.0], [5.0, 6.0, 8.1], [5.0, 4.0, 7.9]])
    ranking = ensemble_ranking(3, scores=scores)
    assert ranking.indices == [1, 2, 0]
    assert ranking.items[0].score == pytest.approx(2.0)  # SD of 2, 6, 4
    # Votes: three members agree on item 0, split 2:1 on item 1, 1:1:1 on item 2.
    one_hot = np.eye(3)
    probs = np.stack(
        [one_hot[[0, 1, 0]], one_hot[[0, 1, 1]], one_hot[[0, 2, 2]]]
    )  # (M=3, n=3, k=3)
    expected = [0.0, -(2 / 3) * np.log(2 / 3) - (1 / 3) * np.log(1 / 3), np.log(3)]
    # members' votes per item: item0 (0,0,0); item1 (1,1,2); item2 (0,1,2)
    assert vote_entropy(probs) == pytest.approx(expected)
    assert ensemble_ranking(1, probabilities=probs).indices == [2]


def test_k_center_picks_the_far_cluster_first_then_covers_the_others():
    rng = np.random.default_rng(1)
    near = rng.normal(0.0, 0.1, size=(40, 2))  # the rated images sit here
    middle = rng.normal([5.0, 0.0], 0.1, size=(10, 2))
    far = rng.normal([50.0, 50.0], 0.1, size=(3, 2))
    pool = np.vstack([near, middle, far])
    labelled = rng.normal(0.0, 0.1, size=(20, 2))
    chosen, distances = k_center_greedy(pool, 2, labelled)
    assert 50 <= chosen[0] < 53  # the far cluster
    assert 40 <= chosen[1] < 50  # then the middle one, not a second far point
    assert distances[0] > distances[1] > 1.0
    ranking = diversity_ranking(pool, 2, labelled)
    assert ranking.indices == chosen
    assert "pick 1 of 2" in ranking.items[0].reason


def test_hybrid_spreads_its_picks_over_the_uncertain_items():
    # Ten uncertain items: eight near-duplicates and two elsewhere; top-k by uncertainty alone
    # would take four duplicates.
    embeddings = np.vstack([np.zeros((8, 2)) + 0.01 * np.arange(8)[:, None],
                            [[10.0, 0.0], [0.0, 10.0]], np.full((30, 2), 5.0)])  # fmt: skip
    u = np.concatenate([np.full(8, 3.0) + 0.01 * np.arange(8), [2.0, 1.9], np.full(30, 0.1)])
    top = uncertainty_ranking(4, mc_samples=np.stack([u, -u]) / np.sqrt(2)).indices
    assert set(top) <= set(range(8))
    ranking = hybrid_ranking(u, embeddings, 2, shortlist=5)
    assert ranking.indices == [8, 9]  # the two distinct uncertain items, no duplicate
    assert "among the 10 most uncertain" in ranking.items[0].reason
    # The shortlist keeps certain items out even when they are far away.
    ranking = hybrid_ranking(u, embeddings, 3, shortlist=3)
    assert not set(ranking.indices) & set(range(10, 40))


def test_mc_dropout_passes_sample_only_the_dropout_and_leave_the_model_in_eval():
    model = build_model("convnet4", 1, input_size=(32, 32), dropout=0.5).eval()
    x = torch.rand(6, 1, 32, 32)
    samples = mc_dropout_passes(model, [x[:4], x[4:]], passes=10, seed=3)
    assert samples.shape == (10, 6)
    assert np.all(samples.std(axis=0) > 0)  # dropout sampled
    assert np.array_equal(samples, mc_dropout_passes(model, [x[:4], x[4:]], 10, seed=3))
    assert not any(m.training for m in model.modules())
    no_dropout = build_model("convnet4", 1, input_size=(32, 32)).eval()
    with pytest.raises(ValueError, match="no dropout"):
        mc_dropout_passes(no_dropout, [x], passes=10)


@pytest.mark.parametrize(
    ("arch", "options", "width"),
    [("convnet4", {"input_size": (96, 64), "dropout": 0.3}, 64 * 6 * 4),
     ("cahdc-rga", {"dropout": 0.3}, 128), ("resnet10", {}, 512)],
)  # fmt: skip
def test_embeddings_are_the_penultimate_features_and_leave_outputs_unchanged(arch, options, width):
    torch.manual_seed(0)
    model = build_model(arch, 1, **options).eval()
    x = torch.rand(2, 1, 64, 96)
    with torch.inference_mode():
        before = model(x)
        features = embed(model, x)
        after = model(x)
    assert features.shape == (2, width)
    before = before.score if hasattr(before, "score") else before
    after = after.score if hasattr(after, "score") else after
    assert torch.equal(before, after)
    if arch == "convnet4":  # the head applied to the features is the output
        with torch.inference_mode():
            assert torch.allclose(model.head(features), before, atol=1e-6)


@pytest.mark.parametrize(
    ("arch", "options"),
    [("convnet4", {"input_size": (32, 48), "dropout": 0.5}), ("cahdc-rga", {"dropout": 0.5})],
)
def test_the_trunk_once_and_the_head_t_times_gives_the_passes_of_the_whole_net(arch, options):
    torch.manual_seed(0)
    model = build_model(arch, 1, **options).eval()
    x = torch.rand(3, 1, 48, 32)
    trunk, head = dropout_split(model)
    with torch.inference_mode():
        whole = model(x)
        whole = whole.score if hasattr(whole, "score") else whole[:, 0]
        assert torch.allclose(head(trunk(x)), whole, atol=1e-5)  # dropout off: identical
    # Dropout on: the split's passes and whole-net passes spread alike (400 passes each).
    split = mc_dropout_passes(model, [x], passes=400, seed=1)
    dropouts = [m for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    with torch.inference_mode():
        for m in dropouts:
            m.train()
        full = torch.stack([outputs(model, x) for _ in range(400)]).numpy()
        for m in dropouts:
            m.eval()
    assert np.allclose(split.mean(0), full.mean(0), atol=4 * full.std(0).max() / np.sqrt(400))
    assert np.allclose(split.std(0), full.std(0), rtol=0.2)


def test_the_onnx_runtime_trunk_equals_convnet4s_own_features():
    from inference.fast import fast_convnet4_trunk

    torch.manual_seed(0)
    model = build_model("convnet4", 1, input_size=(32, 48), dropout=0.3).eval()
    x = torch.rand(5, 1, 48, 32)
    with torch.inference_mode():
        assert torch.allclose(fast_convnet4_trunk(model, 1)(x), embed(model, x), atol=1e-5)
    fast = mc_dropout_passes(model, [x], 10, seed=2, trunk=fast_convnet4_trunk(model, 1))
    assert np.allclose(fast, mc_dropout_passes(model, [x], 10, seed=2), atol=1e-4)
