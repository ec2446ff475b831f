"""One preprocessing: a training batch and a single inference image get identical tensors."""

import numpy as np
import pydicom
import pytest
import torch
from torch.utils.data import DataLoader

from inference.preprocess import (
    Augment,
    ImageDataset,
    PreprocessConfig,
    decode,
    load_batch,
    load_one,
    prepare,
)
from tests.inference.synthetic import clean_chest, degraded, write_chest_dicom

AUGMENT = Augment(flip=True, rotate_deg=5.0, intensity=0.1, crop=0.9)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dicom")
    clean = clean_chest(3)
    return [
        write_chest_dicom(folder / "sharp.dcm", clean),
        write_chest_dicom(folder / "blurred.dcm", degraded(clean, blur=2.0)),
        write_chest_dicom(folder / "noisy.dcm", degraded(clean, noise=0.03), "MONOCHROME1"),
    ]


def test_training_batch_and_single_image_give_the_same_tensor(files):
    config = PreprocessConfig(768, 512, augment=AUGMENT)
    single = load_one(files[2], config)
    assert single.shape == (1, 1, 512, 768)  # width x height 768 x 512
    # The training loader (validation mode: no augmentation), a batch, a file read into bytes.
    dataset = ImageDataset(files, [1.0, 2.0, 3.0], config, train=False)
    batch, targets = next(iter(DataLoader(dataset, batch_size=3, shuffle=False)))
    assert torch.equal(batch[2:3], single)
    assert torch.equal(load_batch(files, config)[2:3], single)
    assert torch.equal(load_one(files[2].read_bytes(), config), single)
    assert targets.tolist() == [1.0, 2.0, 3.0]


def test_augmentation_only_in_training_and_reproducible(files):
    plain = load_one(files[0], PreprocessConfig(512, 512))
    augmenting = PreprocessConfig(512, 512, augment=AUGMENT)
    # Without a generator (inference) the augmentation options change nothing.
    assert torch.equal(load_one(files[0], augmenting), plain)
    train = ImageDataset(files, [0, 0, 0], augmenting, train=True, seed=7)
    first, _ = train[0]
    assert not torch.equal(first, plain[0])
    assert float(first.min()) >= 0.0 and float(first.max()) <= 1.0
    assert torch.equal(train[0][0], first)  # same seed, epoch and index: same draw
    train.set_epoch(1)
    assert not torch.equal(train[0][0], first)


def test_flip_mirrors_the_image():
    pixels = np.zeros((64, 64), np.float32)
    pixels[:, :8] = 1.0  # a bright band on the left
    config = PreprocessConfig(64, 64, augment=Augment(flip=True))
    flipped = [prepare(pixels, config, np.random.default_rng(s)) for s in range(8)]
    lefts = {float(x[0, :, :8].mean()) for x in flipped}
    rights = {float(x[0, :, -8:].mean()) for x in flipped}
    assert lefts == {0.0, 1.0} and rights == {0.0, 1.0}  # some draws flip, some do not
    # Turning intensity jitter (and a crop) on does not change which draws flip.
    more = PreprocessConfig(64, 64, augment=Augment(flip=True, intensity=0.1, crop=0.95))
    jittered = [prepare(pixels, more, np.random.default_rng(s)) for s in range(8)]
    flips = [float(x[0, :, -8:].mean()) > 0.5 for x in flipped]
    assert [float(x[0, :, -8:].mean()) > 0.5 for x in jittered] == flips


def test_monochrome1_is_inverted(files, tmp_path):
    clean = clean_chest(3)
    mono1 = decode(write_chest_dicom(tmp_path / "m1.dcm", clean, "MONOCHROME1"))
    mono2 = decode(write_chest_dicom(tmp_path / "m2.dcm", clean, "MONOCHROME2"))
    np.testing.assert_array_equal(mono1, mono2)
    np.testing.assert_allclose(mono2, clean, atol=1.5 / 255)
    # Without a window the stored values are stretched to [0, 1] and still inverted.
    ds = pydicom.dcmread(tmp_path / "m1.dcm")
    del ds.WindowCenter, ds.WindowWidth
    stored = ds.pixel_array.astype(np.float64)
    low, high = np.percentile(stored, [0.5, 99.5])
    expected = 1.0 - np.clip((stored - low) / (high - low), 0, 1)
    np.testing.assert_allclose(decode(ds), expected, atol=1.0 / 255)


def test_crop_fit_keeps_the_aspect_ratio():
    pixels = np.random.default_rng(0).random((300, 200)).astype(np.float32)
    cropped = prepare(pixels, PreprocessConfig(100, 100, fit="crop"))
    centre = prepare(pixels[50:250], PreprocessConfig(100, 100))
    assert torch.equal(cropped, centre)


def test_zscore_normalisation():
    pixels = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    x = prepare(pixels, PreprocessConfig(32, 32, normalise="zscore"))
    assert abs(float(x.mean())) < 1e-5 and abs(float(x.std()) - 1.0) < 1e-5


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="greyscale"):
        prepare(np.zeros((4, 32, 32), np.float32), PreprocessConfig(16, 16))
    with pytest.raises(ValueError, match="too small"):
        PreprocessConfig(4, 4)
    with pytest.raises(ValueError, match="fit"):
        PreprocessConfig(64, 64, fit="pad")
    with pytest.raises(ValueError, match="targets"):
        ImageDataset(["a.dcm"], [1, 2], PreprocessConfig(64, 64))
