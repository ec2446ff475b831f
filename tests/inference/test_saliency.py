"""Saliency maps: shape and range for every architecture, Grad-CAM finds a planted bright
square that a small trained network scores, and the map is laid back onto the image's grid."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from inference.nets import build_model
from inference.preprocess import PreprocessConfig
from inference.saliency import heatmap_png, saliency_map, to_image_grid

SIDE = 64
SQUARE = 16


def _square_images(n: int, rng: np.random.Generator):
    """Dim noise with one bright square at a random place; the target is the square's brightness."""
    x = rng.uniform(0.0, 0.2, size=(n, 1, SIDE, SIDE)).astype(np.float32)
    y = rng.uniform(0.3, 1.0, size=n).astype(np.float32)
    for i in range(n):
        top, left = rng.integers(0, SIDE - SQUARE, size=2)
        x[i, 0, top : top + SQUARE, left : left + SQUARE] = y[i]
    return torch.from_numpy(x), torch.from_numpy(y)


@pytest.fixture(scope="module")
def square_net():
    """A ConvNet-4 regressor trained to read the brightness of the square, wherever it is."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = build_model("convnet4", 1, input_size=(SIDE, SIDE), widths=(8, 16, 16, 16))
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(250):
        x, y = _square_images(32, rng)
        loss = torch.nn.functional.mse_loss(model(x)[:, 0], y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    final = float(loss.detach())
    assert final < 0.02, f"the planted-square net did not learn (loss {final:.3f})"
    return model.eval()


def test_grad_cam_highlights_the_planted_square(square_net):
    rng = np.random.default_rng(7)
    hits = 0
    for top, left in [(4, 40), (40, 6), (24, 24), (44, 44)]:
        x = torch.from_numpy(rng.uniform(0, 0.2, size=(1, 1, SIDE, SIDE)).astype(np.float32))
        x[0, 0, top : top + SQUARE, left : left + SQUARE] = 0.9
        cam = saliency_map(square_net, "convnet4", x)
        assert cam.shape == (SIDE, SIDE) and cam.dtype == np.float32
        assert cam.min() >= 0.0 and cam.max() <= 1.0 and cam.max() == pytest.approx(1.0)
        inside = np.zeros_like(cam, dtype=bool)
        inside[top : top + SQUARE, left : left + SQUARE] = True
        peak = np.unravel_index(np.argmax(cam), cam.shape)
        # Grad-CAM's map is 4x4 here (64 / 2^4), so the peak may sit a cell off the square's edge.
        near = (top - 8 <= peak[0] < top + SQUARE + 8) and (left - 8 <= peak[1] < left + SQUARE + 8)
        hits += near and cam[inside].mean() > 2 * cam[~inside].mean()
    assert hits == 4


@pytest.mark.parametrize(
    ("arch", "options", "size"),
    [
        ("resnet10", {}, (64, 48)),
        ("cahdc-rga", {}, (96, 64)),
        ("convnet4", {"input_size": (48, 64)}, (64, 48)),
    ],
)
def test_every_network_gives_a_map_in_0_1_at_its_input_size(arch, options, size):
    torch.manual_seed(1)
    model = build_model(arch, 1, **options)
    x = torch.rand(1, 1, *size)
    cam = saliency_map(model, arch, x)
    assert cam.shape == size
    assert np.isfinite(cam).all() and cam.min() >= 0.0 and cam.max() <= 1.0
    # The model is left as it was: no hooks collecting, no gradients kept.
    assert all(not m._forward_hooks and not m._backward_hooks for m in model.modules())
    assert all(p.grad is None for p in model.parameters())


def test_iqm_models_have_no_map_and_an_empty_png_of_the_image_size():
    assert saliency_map(torch.nn.Identity(), "iqm-linear", torch.zeros(1, 1, 8, 8)) is None
    png = Image.open(io.BytesIO(heatmap_png(None, rows=30, cols=20)))
    assert png.size == (20, 30) and png.mode == "RGBA"
    assert np.asarray(png)[..., 3].max() == 0


def test_a_stretched_map_covers_the_image_and_a_cropped_one_its_centre_window():
    cam = np.zeros((8, 8), dtype=np.float32)
    cam[:, :4] = 1.0  # the left half of the input
    stretched = to_image_grid(cam, 100, 40, PreprocessConfig(width=8, height=8))
    assert stretched.shape == (100, 40)
    assert stretched[:, :18].min() > 0.9 and stretched[:, 22:].max() < 0.1
    # A 100 x 40 image cropped to a square input: rows 30..70 were the input.
    cropped = to_image_grid(cam, 100, 40, PreprocessConfig(width=8, height=8, fit="crop"))
    assert cropped[:30].max() == 0 and cropped[70:].max() == 0
    assert cropped[32:68, :18].min() > 0.9 and cropped[32:68, 22:].max() < 0.1


def test_the_heatmap_is_transparent_where_the_map_is_low_and_opaque_where_high():
    grid = np.zeros((10, 10), dtype=np.float32)
    grid[2:4, 2:4] = 1.0
    rgba = np.asarray(Image.open(io.BytesIO(heatmap_png(grid, 10, 10))))
    assert rgba.shape == (10, 10, 4)
    assert rgba[0, 0, 3] == 0 and rgba[2, 2, 3] == 200
