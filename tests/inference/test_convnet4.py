"""ConvNet-4 follows the MRI paper's layer list and trains at its 512x512 input."""

import pytest
import torch
from torch import nn

from inference.nets import DEFAULT_INPUT_SIZE, build_model, for_inference
from inference.nets.convnet4 import ConvNet4


@pytest.mark.parametrize("n_outputs", [1, 2, 3])
def test_forward_backward_at_the_papers_size(n_outputs):
    torch.manual_seed(0)
    model = build_model("convnet4", n_outputs)
    width, height = DEFAULT_INPUT_SIZE["convnet4"]
    assert (width, height) == (512, 512)
    x = torch.rand(2, 1, height, width)
    out = model(x)
    assert out.shape == (2, n_outputs)
    out.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_layers_as_the_paper_lists_them():
    model = ConvNet4(3)
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(10, 10), (7, 7), (3, 3), (3, 3)]
    assert all(c.stride == (2, 2) for c in convs)
    kinds = [type(m) for m in model.features]
    # ReLU *then* batch norm after every convolution (section 2.2).
    assert kinds == [nn.Conv2d, nn.ReLU, nn.BatchNorm2d] * 4
    assert model.head.out_features == 3


def test_each_layer_halves_the_image():
    model = ConvNet4(2).eval()
    x = torch.rand(1, 1, 512, 512)
    sides = []
    with torch.inference_mode():
        for m in model.features:
            x = m(x)
            if isinstance(m, nn.Conv2d):
                sides.append(x.shape[-1])
    assert sides == [256, 128, 64, 32]


def test_other_input_size_and_a_mismatch_is_refused():
    model = build_model("convnet4", 1, input_size=(256, 128))
    assert model(torch.rand(2, 1, 128, 256)).shape == (2, 1)
    with pytest.raises(ValueError, match="built for"):
        model(torch.rand(2, 1, 256, 256))


def test_unknown_architecture_or_option_is_refused():
    with pytest.raises(ValueError, match="unknown architecture"):
        build_model("vgg16", 2)
    with pytest.raises(ValueError, match="unknown option"):
        build_model("convnet4", 2, depth=5)


def test_channels_last_inference_gives_the_same_scores():
    torch.manual_seed(0)
    model = build_model("convnet4", 3).eval()
    x = torch.rand(2, 1, 512, 512)
    with torch.inference_mode():
        eager = model(x)
        fast = for_inference(model)(x)
    assert fast.shape == (2, 3)
    torch.testing.assert_close(fast, eager, atol=1e-6, rtol=1e-5)
