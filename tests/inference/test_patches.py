"""Random training patches: reproducible from a seed, cut from the right place of the image."""

import pytest
import torch

from inference.patches import random_patches


def coordinate_images(count: int, height: int, width: int) -> torch.Tensor:
    # Pixel value = image * 1e6 + row * 1000 + column: a patch tells where it came from.
    rows = torch.arange(height).view(height, 1) * 1000
    cols = torch.arange(width).view(1, width)
    base = (rows + cols).double()
    return torch.stack([base + i * 1e6 for i in range(count)]).unsqueeze(1)


def test_patches_are_the_image_regions_they_claim():
    images = coordinate_images(3, 40, 30)
    patches, index = random_patches(images, (16, 8), per_image=4, generator=torch.Generator())
    assert patches.shape == (12, 1, 16, 8)
    assert index.tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    for patch, i in zip(patches, index.tolist(), strict=True):
        corner = int(patch[0, 0, 0].item()) - i * 1_000_000
        top, left = divmod(corner, 1000)
        assert torch.equal(patch, images[i, :, top : top + 16, left : left + 8])


def test_same_seed_same_patches_and_positions_cover_the_image():
    images = coordinate_images(1, 12, 10)

    def draw(seed):
        generator = torch.Generator().manual_seed(seed)
        return random_patches(images, (10, 8), per_image=200, generator=generator)[0]

    assert torch.equal(draw(1), draw(1))
    assert not torch.equal(draw(1), draw(2))
    corners = {int(p[0, 0, 0].item()) for p in draw(1)}
    # Tops 0..2 and lefts 0..2: all nine corners appear in 200 draws.
    assert corners == {top * 1000 + left for top in range(3) for left in range(3)}


def test_a_patch_larger_than_the_image_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        random_patches(torch.zeros(1, 1, 20, 20), (21, 10))
    with pytest.raises(ValueError):
        random_patches(torch.zeros(1, 20, 20), (10, 10))
