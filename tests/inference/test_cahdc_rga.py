"""CaHDC-RGA (chest paper, Figs. 2-7): shapes at the paper's 768x512, gradients, dropout, and that
it can learn blur from eight images."""

import pytest
import torch
import torch.nn.functional as F

from inference.losses import cahdc_loss
from inference.nets.cahdc_rga import CaHDCRGA, sip_repeats
from inference.schedule import make_optimizer


@pytest.fixture(autouse=True)
def one_thread():
    # Other processes share the two cores; OpenMP threads waiting on each other then cost
    # several times the work itself (10 s instead of 1.5 s for a training step here).
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_forward_and_backward_at_the_papers_input_size():
    torch.manual_seed(0)
    model = CaHDCRGA(in_channels=1)
    image = torch.rand(1, 1, 768, 512)

    model.train()
    out = model(image)
    assert out.score.shape == (1,)
    assert out.side_scores.shape == (1, 4)
    assert out.attention.shape == (1, 1, 768, 512)
    out.score.sum().backward()
    assert model.extractor.stem.weight.grad.abs().sum() > 0

    model.eval()
    with torch.inference_mode():
        again = model(image)
    assert again.score.shape == (1,)
    assert again.side_scores.shape == (1, 4)
    # No dropout by default (the paper has none): train and eval mode give the same score.
    assert again.score.item() == pytest.approx(out.score.item(), abs=1e-5)
    assert again.attention.min() >= 0 and again.attention.max() <= 1


def test_side_pooling_depth_follows_the_paper():
    # "if the size of input feature map is 512*512, R should be 6, and ... the output is 8*8"
    assert sip_repeats(512) == 6
    assert sip_repeats(15) == 0
    assert sip_repeats(16) == 1
    # 768x512: levels of 384x256, 192x128, 96x64, 48x32 -> R = 5, 4, 3, 2 (all end at 12x8).
    model = CaHDCRGA()
    assert [len(sip.down) for sip in model.sipnets] == [5, 4, 3, 2]
    assert [sip.reduce.in_channels for sip in model.sipnets] == [64, 128, 256, 512]


@pytest.mark.parametrize("size", [(96, 64), (75, 53)])
def test_reduced_and_odd_sizes_run_and_every_parameter_gets_a_gradient(size):
    torch.manual_seed(0)
    model = CaHDCRGA(input_min_side=min(size))
    images = torch.rand(3, 1, *size)
    out = model(images)
    assert out.score.shape == (3,)
    assert out.side_scores.shape == (3, 4)
    assert out.attention.shape == (3, 1, *size)
    cahdc_loss(out.score, out.side_scores, torch.tensor([2.0, 5.0, 9.0])).backward()
    missing = [
        name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0
    ]
    assert missing == []


def test_mc_dropout_samples_only_when_asked():
    torch.manual_seed(0)
    model = CaHDCRGA(dropout=0.5, input_min_side=64).eval()
    images = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(images).score, model(images).score)
        model.mc_dropout(True)
        assert not torch.equal(model(images).score, model(images).score)
        model.mc_dropout(False)
        assert torch.equal(model(images).score, model(images).score)
    with pytest.raises(ValueError):
        CaHDCRGA(dropout=1.0)


def _gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    if sigma == 0:
        return image
    r = torch.arange(-6, 7, dtype=torch.float32)
    kernel = torch.exp(-(r**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    x = F.conv2d(F.pad(image, (6, 6, 0, 0), mode="replicate"), kernel.view(1, 1, 1, -1))
    return F.conv2d(F.pad(x, (0, 0, 6, 6), mode="replicate"), kernel.view(1, 1, -1, 1))


def blurred_images(count: int = 8, size: int = 48) -> tuple[torch.Tensor, torch.Tensor]:
    """Random 6x6 block patterns (sharp edges), blurred by sigma 0, 0.5, ..., 3.5 pixels; the
    sharper the image, the higher its target (8 down to 1)."""
    generator = torch.Generator().manual_seed(0)
    blocks = torch.rand(count, 1, size // 8, size // 8, generator=generator)
    sharp = F.interpolate(blocks, scale_factor=8, mode="nearest")
    images = torch.cat([_gaussian_blur(sharp[i : i + 1], 0.5 * i) for i in range(count)])
    return images, torch.arange(count, 0, -1, dtype=torch.float32)


def test_learns_eight_blurred_images_in_forty_steps():
    torch.manual_seed(0)
    images, targets = blurred_images()
    model = CaHDCRGA(input_min_side=48)
    optimizer = make_optimizer(model.parameters())
    with torch.no_grad():
        start = (model(images).score - targets).abs().mean().item()
    for _ in range(40):
        out = model(images)
        loss = cahdc_loss(out.score, out.side_scores, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        out = model(images)
    assert start > 1.5
    assert (out.score - targets).abs().mean().item() < 0.4
    # The side levels learn too (their auxiliary losses), if less closely.
    assert (out.side_scores - targets[:, None]).abs().mean().item() < 1.5
