"""The training loop on its own (plain torch): reproducible, resumable, stoppable within a step."""

import numpy as np
import pytest
import torch

from inference.nets import build_model
from inference.preprocess import ImageDataset, PreprocessConfig, load_one
from inference.training.config import default_config
from inference.training.engine import Hooks, load_checkpoint, train
from tests.inference.synthetic import clean_chest, degraded, write_chest_dicom

N_IMAGES = 12


@pytest.fixture(scope="module")
def blurred_files(tmp_path_factory):
    """Small radiographs whose score falls with their blur (a known truth)."""
    folder = tmp_path_factory.mktemp("blur")
    files, scores = [], []
    for index in range(N_IMAGES):
        blur = 3.0 * index / (N_IMAGES - 1)
        display = degraded(clean_chest(index, shape=(96, 64)), blur=blur)
        files.append(write_chest_dicom(folder / f"img{index}.dcm", display))
        scores.append(9.0 - 2.5 * blur)
    return files, np.array(scores, dtype=np.float32)


def _config(**overrides):
    settings = {"input_width": 32, "input_height": 48, "epochs": 3, "batch_size": 4, "seed": 7}
    settings.update(overrides)
    return default_config("convnet4", "regression", **settings)


def _data(config, files, scores):
    prep = PreprocessConfig(width=config.input_width, height=config.input_height)
    return ImageDataset(files, scores, prep, train=True, seed=config.seed)


def test_the_same_seed_and_config_give_the_same_metrics(blurred_files, tmp_path):
    files, scores = blurred_files
    config = _config()
    first = train(config, _data(config, files, scores), _data(config, files, scores),
                  tmp_path / "a" / "last.pt")  # fmt: skip
    second = train(config, _data(config, files, scores), _data(config, files, scores),
                   tmp_path / "b" / "last.pt")  # fmt: skip
    losses = [(h["train_loss"], h["val_loss"]) for h in first.history]
    assert losses == [(h["train_loss"], h["val_loss"]) for h in second.history]
    assert first.history[-1]["val"]["mad"] == second.history[-1]["val"]["mad"]
    other = train(_config(seed=8), _data(_config(seed=8), files, scores), None,
                  tmp_path / "c" / "last.pt")  # fmt: skip
    assert other.history[0]["train_loss"] != first.history[0]["train_loss"]


class Stop(Exception):
    pass


def test_a_run_stopped_after_an_epoch_resumes_to_the_same_weights(blurred_files, tmp_path):
    files, scores = blurred_files
    config = _config()
    whole = train(config, _data(config, files, scores), None, tmp_path / "whole" / "last.pt")

    def die_after_epoch_2(report):
        if report["epoch"] == 2:
            raise Stop()  # the worker is killed once epoch 2's checkpoint is on disk

    path = tmp_path / "broken" / "last.pt"
    with pytest.raises(Stop):
        train(config, _data(config, files, scores), None, path, Hooks(on_epoch=die_after_epoch_2))
    assert load_checkpoint(path).epoch == 2
    epochs_run = []
    resumed = train(
        config, _data(config, files, scores), None, path,
        Hooks(on_epoch=lambda report: epochs_run.append(report["epoch"])),
    )  # fmt: skip
    assert epochs_run == [3]  # only what was missing
    for name, tensor in whole.model.state_dict().items():
        assert torch.allclose(tensor.float(), resumed.model.state_dict()[name].float()), name


def test_a_stop_asked_during_training_ends_it_within_one_step(blurred_files, tmp_path):
    files, scores = blurred_files
    config = _config(epochs=5)
    steps = []

    def on_step(step, total, speed):
        steps.append(step)
        if step == 2:
            raise Stop()

    with pytest.raises(Stop):
        train(config, _data(config, files, scores), None, tmp_path / "last.pt", Hooks(on_step))
    assert steps == [1, 2]


def test_a_version_loads_outside_the_platform_in_a_few_lines_of_torch(blurred_files, tmp_path):
    files, scores = blurred_files
    config = _config(epochs=1)
    best = train(config, _data(config, files, scores), None, tmp_path / "last.pt")
    prep = PreprocessConfig(width=config.input_width, height=config.input_height)
    x = load_one(files[0], prep)
    with torch.inference_mode():
        expected = best.model.eval()(x)

    # What the README shows a researcher (plain torch + the net's definition):
    state = torch.load(tmp_path / "best.pt", map_location="cpu", weights_only=True)
    size = (state["config"]["input_width"], state["config"]["input_height"])
    net = build_model(state["config"]["arch"], 1, input_size=size)
    net.load_state_dict(state["model"])
    with torch.inference_mode():
        assert torch.allclose(net.eval()(x), expected)
