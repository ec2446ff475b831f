"""The networks a training run can choose, by name: `build_model(arch, n_outputs)`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

ARCHITECTURES = ("cahdc-rga", "convnet4", "resnet10")

# Input size per architecture as (width, height), from the papers. The chest paper's
# "768 x 512" radiographs are read as 768 rows x 512 columns: a PA chest film is taller than
# wide, the demo radiographs are generated so, and CaHDC-RGA's patches (inference/patches.py)
# take half of each side as 384 rows x 256 columns. The MRI paper's 512 x 512 slices serve
# both of its networks.
DEFAULT_INPUT_SIZE: dict[str, tuple[int, int]] = {
    "cahdc-rga": (512, 768),
    "convnet4": (512, 512),
    "resnet10": (512, 512),
}


def build_model(arch: str, n_outputs: int, **options: Any) -> nn.Module:
    """A fresh network for `arch` with `n_outputs` outputs (1: regression; k: k logits).

    Options go to the architecture: `dropout` (cahdc-rga, convnet4), `input_size` as
    (width, height) (convnet4, whose fully connected layer depends on it), `widths` (convnet4).
    Imports are lazy so that choosing one network never imports another (MONAI is slow to load).
    """
    if arch == "cahdc-rga":
        from inference.nets.cahdc_rga import CaHDCRGA

        if n_outputs != 1:
            raise ValueError("CaHDC-RGA is a regressor: n_outputs must be 1")
        return CaHDCRGA(in_channels=1, **_only(options, "dropout"))
    if arch == "convnet4":
        from inference.nets.convnet4 import ConvNet4

        opts = _only(options, "dropout", "input_size", "widths")
        opts.setdefault("input_size", DEFAULT_INPUT_SIZE["convnet4"])
        return ConvNet4(n_outputs, **opts)
    if arch == "resnet10":
        from inference.nets.resnet10 import resnet10

        _only(options)
        return resnet10(n_outputs)
    raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")


def for_inference(model: nn.Module) -> nn.Module:
    """eval() mode with channels-last weights, for ConvNet-4 and ResNet-10 on the CPU.

    oneDNN's convolutions run faster on NHWC (about 1.2-1.5x here for both nets at 512x512,
    noisy on a shared machine); a channels-last weight makes each convolution take its input
    as NHWC, so callers pass ordinary tensors. Scores equal eager ones within 1e-6 (tests).
    """
    return model.eval().to(memory_format=torch.channels_last)


def embed(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, D) penultimate features of any of our nets, outputs unchanged:
    ConvNet-4 and CaHDC-RGA have `embed`; MONAI's ResNet-10 gives the input of its `fc`
    (the global average pool, 512 values) through a forward hook."""
    if hasattr(model, "embed"):
        return model.embed(x)
    head = getattr(model, "fc", None)
    if not isinstance(head, nn.Linear):
        raise ValueError(f"no penultimate features known for {type(model).__name__}")
    seen: list[torch.Tensor] = []
    handle = head.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    try:
        model(x)
    finally:
        handle.remove()
    return torch.flatten(seen[0], 1)


def dropout_split(
    model: nn.Module,
) -> tuple[Callable[[torch.Tensor], Any], Callable[[Any], torch.Tensor]] | None:
    """(trunk, head) with head(trunk(x)) == model's score or logits, where every dropout layer
    is in the head: MC-dropout then runs the trunk once and only the head T times, the same
    distribution of passes for a tenth of the work at T = 10. None for nets without that split
    (ResNet-10 has no dropout)."""
    from inference.nets.cahdc_rga import CaHDCRGA
    from inference.nets.convnet4 import ConvNet4

    if isinstance(model, ConvNet4):
        return model.embed, lambda features: _squeeze(model.head(model.dropout(features)))
    if isinstance(model, CaHDCRGA):
        return (lambda x: model._vectors(x)[0]), (lambda vectors: model.regnet(vectors)[0])
    return None


def _squeeze(out: torch.Tensor) -> torch.Tensor:
    return out[:, 0] if out.shape[1] == 1 else out


def _only(options: dict[str, Any], *allowed: str) -> dict[str, Any]:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"unknown option(s) for this architecture: {', '.join(unknown)}")
    return dict(options)
