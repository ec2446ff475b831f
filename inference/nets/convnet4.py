"""ConvNet-4: the MRI diagnostic-quality paper's four-layer CNN (plain torch)."""

from __future__ import annotations

import torch
from torch import nn

# (kernel, padding) of the four convolutions, all stride 2. The padding is ours (the paper
# gives kernels and strides only): it halves the side exactly at every layer, 512 -> 32.
LAYERS = ((10, 4), (7, 3), (3, 1), (3, 1))
# The paper's Fig. 2 (tensor shapes) is not in the text we have, so the widths are our
# choice: doubling from 8 keeps the 512x512 forward pass near 10 ms on one core (16 to 128
# costs 3x more, which with decoding would miss the 30 ms per image the issue asks for).
DEFAULT_WIDTHS = (8, 16, 32, 64)


def output_side(side: int) -> int:
    """Spatial side after the four stride-2 convolutions (PyTorch's Conv2d size formula)."""
    for kernel, padding in LAYERS:
        side = (side + 2 * padding - kernel) // 2 + 1
    return side


class ConvNet4(nn.Module):
    """Four stride-2 convolutions (10x10, 7x7, 3x3, 3x3), each ReLU then batch norm, then a
    fully connected layer to `n_outputs` logits.

    Source: "Automated image quality assessment ... MRI" (the seed
    mri-diagnostic-quality-cnn.txt), section 2.2: 512x512 greyscale input, 2 logits for the
    binary task, 3 for the 3-class one. n_outputs=1 turns it into a regressor (MOS).
    The fully connected layer depends on the input size, so it is fixed at construction.
    """

    def __init__(
        self,
        n_outputs: int = 2,
        *,
        in_channels: int = 1,
        input_size: tuple[int, int] = (512, 512),
        widths: tuple[int, ...] = DEFAULT_WIDTHS,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if len(widths) != len(LAYERS):
            raise ValueError(f"ConvNet-4 needs {len(LAYERS)} widths, got {len(widths)}")
        if n_outputs < 1:
            raise ValueError("n_outputs must be at least 1")
        width, height = input_size
        out_w, out_h = output_side(width), output_side(height)
        if out_w < 1 or out_h < 1:
            raise ValueError(f"input {width}x{height} is too small for four stride-2 convs")
        blocks: list[nn.Module] = []
        channels = in_channels
        for (kernel, padding), out_channels in zip(LAYERS, widths, strict=True):
            blocks += [
                nn.Conv2d(channels, out_channels, kernel, stride=2, padding=padding),
                nn.ReLU(inplace=True),
                nn.BatchNorm2d(out_channels),  # after the ReLU, as the paper orders them
            ]
            channels = out_channels
        self.input_size = (width, height)
        self.features = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.head = nn.Linear(channels * out_w * out_h, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, n_outputs) logits (or scores when n_outputs == 1)."""
        return self.head(self.dropout(self.embed(x)))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, D): the penultimate features, the fully connected layer's input
        (active learning's diversity works on them). Dropout is not applied here."""
        expected = (self.input_size[1], self.input_size[0])
        if tuple(x.shape[-2:]) != expected:
            raise ValueError(f"ConvNet-4 built for H x W = {expected}, got {tuple(x.shape[-2:])}")
        return torch.flatten(self.features(x), 1)
