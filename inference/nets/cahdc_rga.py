"""CaHDC-RGA, the chest-radiograph quality regressor of Meng et al. 2022 (rs-1213399).

The paper's text (section "CNN model architecture", Figs. 2-7) fixes the outline; where it is silent
the choice made here is marked "not in the paper" below.

    image (N, 1, H, W)
      -> ResNet: 5 convs 3x3, 32 channels, stride 1, ReLU (a stem conv + two residual blocks)
      -> HCNet: Conv(3,3,64,2), Conv(3,3,128,2), Conv(3,3,256,2), Conv(3,3,512,2) -> O1..O4
      -> UNet (convs and up-convs only) -> attention map A with 1 channel, in [0, 1]
      -> O_i * A resampled to O_i's size
      -> SiPNet_i: 1x1 conv to 64, R_i x (3x3 conv stride 2), global max pool -> 64-vector v_i
      -> RegNet: FC_i(v_i) = Q_i (i = 1..4); FC6(FC5(concat v_1..v_4)) = Q

Not in the paper: the U-Net's widths (16/32/64 here, narrow because its first layers run at full
resolution), the sigmoid that makes the attention a weight in [0, 1], the ReLU between FC5 and FC6,
where dropout sits (the paper uses none: ``dropout=0.0`` is its behaviour), and the output biases
starting at ``initial_score`` (the middle of the paper's 1-10 scale) so training does not spend its
first hundreds of steps walking the bias up from 0.

Every part is fully convolutional up to the global max pool, so any input size runs; the paper's
R (repeats in a SiPNet) depends on the size the net is built for (``input_min_side``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

HC_CHANNELS = (64, 128, 256, 512)
EXTRACTOR_CHANNELS = 32
SIP_CHANNELS = 64
REG_HIDDEN = 128
UNET_CHANNELS = (16, 32, 64)


class CaHDCOutput(NamedTuple):
    score: Tensor  # (N,) the final quality score Q
    side_scores: Tensor  # (N, 4) Q1..Q4, one per hierarchy level (auxiliary losses)
    attention: Tensor  # (N, 1, h, w) the U-Net map in [0, 1], at the extractor's resolution


def _conv(cin: int, cout: int, stride: int = 1, kernel: int = 3) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2)


def sip_repeats(side: int) -> int:
    """R such that ceil(side / 2**R) lies in 8..15 (the paper: 512 -> R = 6, output 8).

    Halving any side in 16..30 lands in 8..15, so halving while above 15 never undershoots;
    a side of 15 or less needs no down-sampling (R = 0).
    """
    repeats = 0
    while side > 15:
        side = math.ceil(side / 2)
        repeats += 1
    return repeats


class ResidualExtractor(nn.Module):
    """Fig. 3: five 3x3 convs with 32 filters and ReLU, stride 1 so the output keeps the input size.

    Five layers read as a stem conv followed by two residual blocks of two convs each.
    """

    def __init__(self, in_channels: int, stem_stride: int = 1) -> None:
        super().__init__()
        c = EXTRACTOR_CHANNELS
        self.stem = _conv(in_channels, c, stride=stem_stride)
        self.blocks = nn.ModuleList(nn.ModuleList([_conv(c, c), _conv(c, c)]) for _ in range(2))

    def forward(self, x: Tensor) -> Tensor:
        x = F.relu(self.stem(x))
        for first, second in self.blocks:
            x = F.relu(x + second(F.relu(first(x))))
        return x


class HCNet(nn.Module):
    """Fig. 4: four stride-2 3x3 convs (64/128/256/512 filters, ReLU); each output is one level."""

    def __init__(self) -> None:
        super().__init__()
        widths = (EXTRACTOR_CHANNELS, *HC_CHANNELS)
        self.levels = nn.ModuleList(
            _conv(cin, cout, stride=2) for cin, cout in zip(widths, widths[1:], strict=False)
        )

    def forward(self, x: Tensor) -> list[Tensor]:
        outputs = []
        for conv in self.levels:
            x = F.relu(conv(x))
            outputs.append(x)
        return outputs


def _fit(x: Tensor, like: Tensor) -> Tensor:
    # A 2x2 up-conv doubles ceil(n / 2), one pixel too many for an odd skip size: crop it off.
    return x[..., : like.shape[-2], : like.shape[-1]]


class AttentionUNet(nn.Module):
    """Fig. 5: a U-Net of convs (stride-2 down) and 2x2 up-convs only; 1-channel map, sigmoid."""

    def __init__(self) -> None:
        super().__init__()
        c0 = EXTRACTOR_CHANNELS
        c1, c2, c3 = UNET_CHANNELS
        self.down1, self.down2, self.down3 = _conv(c0, c1, 2), _conv(c1, c2, 2), _conv(c2, c3, 2)
        self.bottom = _conv(c3, c3)
        self.up2, self.merge2 = nn.ConvTranspose2d(c3, c2, 2, stride=2), _conv(2 * c2, c2)
        self.up1, self.merge1 = nn.ConvTranspose2d(c2, c1, 2, stride=2), _conv(2 * c1, c1)
        self.up0 = nn.ConvTranspose2d(c1, c1 // 2, 2, stride=2)
        self.head = _conv(c1 // 2 + c0, 1, kernel=1)

    def forward(self, x: Tensor) -> Tensor:
        e1 = F.relu(self.down1(x))
        e2 = F.relu(self.down2(e1))
        e3 = F.relu(self.bottom(F.relu(self.down3(e2))))
        u2 = F.relu(self.merge2(torch.cat([_fit(F.relu(self.up2(e3)), e2), e2], 1)))
        u1 = F.relu(self.merge1(torch.cat([_fit(F.relu(self.up1(u2)), e1), e1], 1)))
        u0 = _fit(F.relu(self.up0(u1)), x)
        return torch.sigmoid(self.head(torch.cat([u0, x], 1)))


class SiPNet(nn.Module):
    """Fig. 6: 1x1 conv to 64 channels, R stride-2 3x3 convs, global max pool -> 64-vector."""

    def __init__(self, in_channels: int, repeats: int) -> None:
        super().__init__()
        self.reduce = _conv(in_channels, SIP_CHANNELS, kernel=1)
        self.down = nn.ModuleList(
            _conv(SIP_CHANNELS, SIP_CHANNELS, stride=2) for _ in range(repeats)
        )

    def forward(self, x: Tensor) -> Tensor:
        x = F.relu(self.reduce(x))
        for conv in self.down:
            x = F.relu(conv(x))
        return torch.amax(x, dim=(-2, -1))


class RegNet(nn.Module):
    """Fig. 7: FC1-4 score each level's vector; FC5 (256 -> 128) and FC6 (128 -> 1) give Q."""

    def __init__(self, dropout: float, initial_score: float) -> None:
        super().__init__()
        self.sides = nn.ModuleList(nn.Linear(SIP_CHANNELS, 1) for _ in HC_CHANNELS)
        self.fc5 = nn.Linear(SIP_CHANNELS * len(HC_CHANNELS), REG_HIDDEN)
        self.fc6 = nn.Linear(REG_HIDDEN, 1)
        self.drop_in = nn.Dropout(dropout)
        self.drop_hidden = nn.Dropout(dropout)
        with torch.no_grad():
            for fc in (*self.sides, self.fc6):
                fc.bias.fill_(initial_score)

    def forward(self, vectors: list[Tensor]) -> tuple[Tensor, Tensor]:
        vectors = [self.drop_in(v) for v in vectors]
        sides = torch.cat([fc(v) for fc, v in zip(self.sides, vectors, strict=True)], dim=1)
        hidden = self.drop_hidden(F.relu(self.fc5(torch.cat(vectors, dim=1))))
        return self.fc6(hidden).squeeze(1), sides


def attention_pyramid(attention: Tensor, levels: int) -> list[Tensor]:
    """The map at each HCNet level's size: repeated 2x2 means, ceil mode.

    A stride-2 3x3 conv with padding 1 turns n into ceil(n / 2), and so does a 2x2 average pool
    in ceil mode, so each pooled map matches its level exactly, for odd sizes too.
    """
    maps = []
    for _ in range(levels):
        attention = F.avg_pool2d(attention, 2, stride=2, ceil_mode=True)
        maps.append(attention)
    return maps


class CaHDCRGA(nn.Module):
    """CaHDC-RGA for (N, in_channels, H, W) float images; forward returns a ``CaHDCOutput``.

    ``dropout``: drop probability in the RegNet (the paper uses none; > 0 enables MC-dropout
    with ``mc_dropout(True)``). ``input_min_side``: shorter side of the images the net is built
    for (512 for the paper's 768x512), which fixes each SiPNet's R. ``stem_stride``: 1 is the
    paper's; 2 halves the resolution of everything after the first conv (about 4x less work).
    """

    def __init__(
        self,
        in_channels: int = 1,
        dropout: float = 0.0,
        *,
        input_min_side: int = 512,
        stem_stride: int = 1,
        initial_score: float = 5.5,
    ) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.extractor = ResidualExtractor(in_channels, stem_stride)
        self.hcnet = HCNet()
        self.unet = AttentionUNet()
        side = math.ceil(input_min_side / stem_stride)
        sips = []
        for channels in HC_CHANNELS:
            side = math.ceil(side / 2)
            sips.append(SiPNet(channels, sip_repeats(side)))
        self.sipnets = nn.ModuleList(sips)
        self.regnet = RegNet(dropout, initial_score)
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)

    def forward(self, images: Tensor) -> CaHDCOutput:
        vectors, attention = self._vectors(images)
        score, sides = self.regnet(vectors)
        return CaHDCOutput(score, sides, attention)

    def _vectors(self, images: Tensor) -> tuple[list[Tensor], Tensor]:
        """The SiPNets' 64-vectors v_1..v_4 and the attention map."""
        features = self.extractor(images)
        attention = self.unet(features)
        levels = self.hcnet(features)
        maps = attention_pyramid(attention, len(levels))
        vectors = [
            sip(level * weight)
            for sip, level, weight in zip(self.sipnets, levels, maps, strict=True)
        ]
        return vectors, attention

    def embed(self, images: Tensor) -> Tensor:
        """(N, 1, H, W) -> (N, 128): the penultimate features, RegNet's FC5 output after its
        ReLU and before dropout (active learning's diversity works on them)."""
        vectors, _ = self._vectors(images)
        return F.relu(self.regnet.fc5(torch.cat(vectors, dim=1)))

    def mc_dropout(self, enabled: bool = True) -> CaHDCRGA:
        """Keep the dropout layers sampling in eval mode (Monte Carlo dropout), or stop it.

        Call it after ``eval()``, which would switch them off again.
        """
        for module in self.modules():
            if isinstance(module, nn.Dropout):
                module.train(enabled)
        return self
