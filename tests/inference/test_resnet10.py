"""ResNet-10 comes from MONAI as a 2-D, one-channel network; the registry builds every net."""

import pytest
import torch

from inference.nets import ARCHITECTURES, DEFAULT_INPUT_SIZE, build_model, for_inference


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_resnet10_forward_backward_at_the_papers_size(n_outputs):
    from monai.networks.nets import ResNet

    torch.manual_seed(0)
    model = build_model("resnet10", n_outputs)
    assert isinstance(model, ResNet)
    width, height = DEFAULT_INPUT_SIZE["resnet10"]
    assert (width, height) == (512, 512)  # the MRI paper's slices, as for ConvNet-4
    out = model(torch.rand(2, 1, height, width))
    assert out.shape == (2, n_outputs)
    out.sum().backward()
    assert model.conv1.weight.grad is not None and model.conv1.weight.grad.abs().sum() > 0


def test_resnet10_is_ten_layers_deep_and_2d():
    model = build_model("resnet10", 2)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    # Stem + 4 stages x 1 basic block x 2 convs = 9 weighted convs (+ 3 1x1 shortcuts),
    # and the fully connected layer: He et al.'s ResNet-10.
    assert sum(1 for c in convs if c.kernel_size != (1, 1)) == 9
    assert convs[0].in_channels == 1
    assert not any(isinstance(m, torch.nn.Conv3d) for m in model.modules())


def test_every_architecture_has_an_input_size():
    assert set(DEFAULT_INPUT_SIZE) == set(ARCHITECTURES)
    # 768 rows x 512 columns, portrait like the demo radiographs: no stretching on the way in.
    assert DEFAULT_INPUT_SIZE["cahdc-rga"] == (512, 768)


def test_cahdc_rga_through_the_registry():
    cahdc = pytest.importorskip("inference.nets.cahdc_rga", reason="models-a's net not merged")
    model = build_model("cahdc-rga", 1, dropout=0.1)
    assert isinstance(model, cahdc.CaHDCRGA)
    with pytest.raises(ValueError, match="regressor"):
        build_model("cahdc-rga", 3)


def test_resnet10_channels_last_inference_gives_the_same_scores():
    torch.manual_seed(0)
    model = build_model("resnet10", 1).eval()
    x = torch.rand(1, 1, 512, 512)
    with torch.inference_mode():
        eager = model(x)
        fast = for_inference(model)(x)
    torch.testing.assert_close(fast, eager, atol=1e-6, rtol=1e-5)
