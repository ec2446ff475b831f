"""Where a network looks: Grad-CAM (MONAI) or CaHDC-RGA's own attention, as a map in [0, 1] at
the network's input size, laid back onto the image's pixel grid and drawn as an RGBA heatmap."""

from __future__ import annotations

from io import BytesIO

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from inference.preprocess import PreprocessConfig


class Method:
    GRAD_CAM = "grad-cam"
    ATTENTION = "attention"
    NONE = "none"


def method_for(arch: str) -> str:
    """Grad-CAM for the plain CNNs, the attention map for CaHDC-RGA, nothing for IQM models."""
    if arch in ("convnet4", "resnet10"):
        return Method.GRAD_CAM
    if arch == "cahdc-rga":
        return Method.ATTENTION
    return Method.NONE


def target_layer(model: nn.Module, arch: str) -> str:
    """The Grad-CAM layer: the last spatial feature map before the head.

    ConvNet-4: the last module of `features` (the fourth block's batch norm; the conv itself
    is followed by an in-place ReLU, which a backward hook on the conv's output forbids).
    ResNet-10 (MONAI): `layer4`, the last residual stage, as in Selvaraju et al.'s ResNet figures.
    """
    if arch == "convnet4":
        return f"features.{len(model.features) - 1}"
    if arch == "resnet10":
        return "layer4"
    raise ValueError(f"no Grad-CAM layer for architecture {arch!r}")


def _unit(x: torch.Tensor) -> torch.Tensor:
    """Scale each map by its maximum, so 0 stays 0 (no evidence) and the peak is 1.

    MONAI's default normaliser maps (min, max) to (1, 0), flipping the map; we want the
    opposite, and an all-zero map (no positive gradient anywhere) stays all zero.
    """
    flat = x.detach().reshape(x.shape[0], -1)
    peak = flat.amax(dim=1).clamp_min(1e-12).reshape(-1, *([1] * (x.dim() - 1)))
    return (x.detach() / peak).clamp(0.0, 1.0)


def grad_cam(model: nn.Module, x: torch.Tensor, arch: str, class_idx: int | None = None):
    """Grad-CAM (Selvaraju et al. 2017, eq. 1-2) of one input (1, C, H, W) -> (H, W) in [0, 1].

    For a regressor (one output) the map follows the gradient of the score itself: regions
    whose activation raises the score. For a classifier, of the predicted class's logit
    (or `class_idx`'s).
    """
    from monai.visualize import GradCAM

    layer = target_layer(model, arch)
    cam = GradCAM(nn_module=model, target_layers=layer, postprocessing=_unit)
    try:
        with torch.enable_grad():
            result = cam(x, class_idx=class_idx)
    finally:
        # MONAI keeps no handles to its hooks; a model used again must not keep collecting.
        module = model.get_submodule(layer)
        module._forward_hooks.clear()
        module._backward_hooks.clear()
        model.zero_grad(set_to_none=True)
    return result[0, 0].detach().cpu().numpy().astype(np.float32)


@torch.inference_mode()
def attention_map(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """CaHDC-RGA's own U-Net attention for input (1, C, H, W), as (H, W) in [0, 1]."""
    return attention_to_map(model(x).attention, tuple(x.shape[-2:]))


def attention_to_map(attention: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """A CaHDC-RGA attention (1, 1, h, w) upsampled to the input `size` and scaled to [0, 1].

    The raw map is a sigmoid in [0, 1]; an untrained or flat map sits near 0.5 everywhere,
    so it is scaled min-to-max to show where the network weights most, not how much.
    """
    up = F.interpolate(attention, size=size, mode="bilinear", align_corners=False)[0, 0]
    low, high = float(up.min()), float(up.max())
    if high - low < 1e-9:
        return np.zeros(tuple(up.shape), dtype=np.float32)
    return ((up - low) / (high - low)).cpu().numpy().astype(np.float32)


def saliency_map(model: nn.Module, arch: str, x: torch.Tensor) -> np.ndarray | None:
    """The map of `arch`'s method for input (1, C, H, W), as (H, W) float32 in [0, 1]."""
    method = method_for(arch)
    was_training = model.training
    model.eval()
    try:
        if method == Method.GRAD_CAM:
            return grad_cam(model, x, arch)
        if method == Method.ATTENTION:
            return attention_map(model, x)
        return None
    finally:
        model.train(was_training)


def to_image_grid(
    saliency: np.ndarray, rows: int, cols: int, config: PreprocessConfig
) -> np.ndarray:
    """The input-size map laid back on the image's (rows, cols) pixel grid.

    Undoes inference/preprocess.py's fit: "stretch" resized the whole image, so the map is
    resized back over all of it; "crop" took the centred window of the input's aspect ratio,
    so the map covers that window and the cropped-off bands get 0.
    """
    top, left, height, width = 0, 0, rows, cols
    if config.fit == "crop":
        target = config.width / config.height
        if cols / rows > target:
            width = max(1, round(rows * target))
            left = (cols - width) // 2
        else:
            height = max(1, round(cols / target))
            top = (rows - height) // 2
    window = F.interpolate(
        torch.from_numpy(np.ascontiguousarray(saliency, dtype=np.float32))[None, None],
        size=(height, width),
        mode="bilinear",
        align_corners=False,
    )[0, 0].numpy()
    grid = np.zeros((rows, cols), dtype=np.float32)
    grid[top : top + height, left : left + width] = np.clip(window, 0.0, 1.0)
    return grid


# Below this the overlay is fully transparent: faint evidence would tint the whole image.
TRANSPARENT_BELOW = 0.2


def heatmap_rgba(grid: np.ndarray) -> np.ndarray:
    """(rows, cols) in [0, 1] -> (rows, cols, 4) uint8: dark red through yellow, alpha rising
    with the value from 0 at TRANSPARENT_BELOW to 200/255 at 1 (the image stays readable)."""
    v = np.clip(grid, 0.0, 1.0)
    rgba = np.zeros((*v.shape, 4), dtype=np.uint8)
    rgba[..., 0] = np.round(255 * np.clip(0.5 + 1.5 * v, 0, 1))
    rgba[..., 1] = np.round(255 * np.clip(2.0 * v - 0.6, 0, 1))
    rgba[..., 2] = np.round(255 * np.clip(3.0 * v - 2.4, 0, 1))
    alpha = np.clip((v - TRANSPARENT_BELOW) / (1.0 - TRANSPARENT_BELOW), 0, 1)
    rgba[..., 3] = np.round(200 * alpha)
    return rgba


def heatmap_png(grid: np.ndarray | None, rows: int, cols: int) -> bytes:
    """The heatmap as a PNG of the image's size; all transparent when there is no map."""
    from PIL import Image

    if grid is None:
        grid = np.zeros((rows, cols), dtype=np.float32)
    out = BytesIO()
    Image.fromarray(heatmap_rgba(grid), mode="RGBA").save(out, format="PNG", optimize=False)
    return out.getvalue()
