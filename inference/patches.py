"""Random training patches for CaHDC-RGA ("a mini-batch of random sampled image patches").

The paper gives neither the patch size nor how many per image. The default here is half of
each side of its 768x512 input (384x256, a quarter of the area): a patch still spans a large part
of the chest, which matters because both dimensions' criteria (Table 1) refer to anatomy across
the image (peripheral vessels, heart borders, diaphragm). Each patch inherits its image's MOS.
Inference scores the whole image (the net is fully convolutional up to a global max pool).
"""

from __future__ import annotations

import torch
from torch import Tensor

PATCH_SIZE = (384, 256)  # (height, width)


def random_patches(
    images: Tensor,
    size: tuple[int, int] = PATCH_SIZE,
    per_image: int = 1,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Crop ``per_image`` patches of ``size`` (h, w) at uniform random positions from each image.

    ``images`` is (N, C, H, W). Returns the patches (N * per_image, C, h, w) and, for each patch,
    the index of its image (so ``targets[index]`` gives its label). Positions come from
    ``generator`` only, so a seeded generator gives the same patches on every run.
    """
    if images.dim() != 4:
        raise ValueError(f"images must be (N, C, H, W), got {tuple(images.shape)}")
    n, _, height, width = images.shape
    ph, pw = size
    if not (0 < ph <= height and 0 < pw <= width):
        raise ValueError(f"patch {ph}x{pw} does not fit in images of {height}x{width}")
    if per_image < 1:
        raise ValueError(f"per_image must be >= 1, got {per_image}")
    index = torch.arange(n).repeat_interleave(per_image)
    tops = torch.randint(0, height - ph + 1, (index.numel(),), generator=generator)
    lefts = torch.randint(0, width - pw + 1, (index.numel(),), generator=generator)
    patches = [
        images[i, :, top : top + ph, left : left + pw]
        for i, top, left in zip(index.tolist(), tops.tolist(), lefts.tolist(), strict=True)
    ]
    return torch.stack(patches), index
