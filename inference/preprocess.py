"""One preprocessing for training and inference: DICOM -> display values -> (1, H, W) tensor.

Training batches (`ImageDataset`, `load_batch`) and single images at inference (`load_one`)
all go through `load()`, so the two paths cannot drift apart. Augmentation happens only when
a random generator is passed, which inference never does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Literal

import numpy as np
import pydicom
import torch
from pydicom.dataset import Dataset

# The project's one DICOM decoder (modality LUT, VOI window, MONOCHROME1 inversion).
from imaging.dicom.pixels import display_frames, middle_frame, read_geometry

Source = str | Path | bytes | Dataset


@dataclass(frozen=True)
class Augment:
    """Training-time augmentation; the defaults change nothing."""

    flip: bool = False  # horizontal flip with probability 1/2
    rotate_deg: float = 0.0  # uniform rotation in [-rotate_deg, +rotate_deg]
    intensity: float = 0.0  # gain and offset each uniform in [-intensity, +intensity]
    crop: float = 1.0  # random crop keeping this fraction of each side (1.0: none)


@dataclass(frozen=True)
class PreprocessConfig:
    """How an image becomes a network input. Sizes are width x height, in pixels."""

    width: int
    height: int
    # stretch: resize the whole image; crop: centre-crop to the input's aspect ratio first.
    fit: Literal["stretch", "crop"] = "stretch"
    # unit: display values / 255 in [0, 1] (the MRI paper's normalisation); zscore: per image.
    normalise: Literal["unit", "zscore"] = "unit"
    augment: Augment = field(default_factory=Augment)

    def __post_init__(self) -> None:
        if self.width < 8 or self.height < 8:
            raise ValueError(f"input size {self.width}x{self.height} is too small")
        if self.fit not in ("stretch", "crop"):
            raise ValueError(f"unknown fit {self.fit!r}")
        if self.normalise not in ("unit", "zscore"):
            raise ValueError(f"unknown normalisation {self.normalise!r}")
        if not 0.0 < self.augment.crop <= 1.0:
            raise ValueError("augment.crop must be in (0, 1]")


def decode(source: Source) -> np.ndarray:
    """Display values of one image as float32 (rows, cols) in [0, 1].

    The values are what a rater saw: modality LUT / rescale, the file's VOI window (else a
    percentile window), MONOCHROME1 inverted so that high is always white. A multi-frame image
    gives its middle frame; colour is averaged to grey.
    """
    ds = _dataset(source)
    frame = middle_frame(read_geometry(ds))
    pixels = display_frames(ds, frame_index=frame).pixels
    grey = pixels.mean(axis=-1) if pixels.ndim == 3 else pixels
    return grey.astype(np.float32) * np.float32(1.0 / 255.0)


def _dataset(source: Source) -> Dataset:
    if isinstance(source, Dataset):
        return source
    if isinstance(source, bytes):
        return pydicom.dcmread(BytesIO(source))
    return pydicom.dcmread(str(source))


def prepare(
    pixels: np.ndarray, config: PreprocessConfig, rng: np.random.Generator | None = None
) -> torch.Tensor:
    """Decoded display values (rows, cols) in [0, 1] -> float32 tensor (1, height, width).

    With `rng` (training) the config's augmentation is drawn from it; without (inference)
    the result is deterministic and no augmentation happens.
    """
    if pixels.ndim != 2:
        raise ValueError(f"expected one greyscale image (rows, cols), got shape {pixels.shape}")
    aug = config.augment if rng is not None else Augment()
    # Six draws per image whatever the options (crop top, left, flip, angle, gain, offset), so
    # switching one augmentation on does not reshuffle the others.
    draws = rng.random(6) if rng is not None else None
    image = _fit(pixels, config, aug, draws)
    x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None]
    size = (config.height, config.width)
    if image.shape != size:
        # Antialiased bilinear (a triangle filter as wide as the shrink factor, as PIL's):
        # noise and fine detail do not alias when shrinking, and it is ~10x faster than
        # mode="area" at a non-integer factor (1 ms vs 10 ms for 768x512 -> 512x512).
        x = torch.nn.functional.interpolate(x, size=size, mode="bilinear", antialias=True)
    x = x[0]
    if draws is not None:
        x = _augment(x, aug, draws[2:])
    return _normalise(x, config.normalise)


def _fit(
    pixels: np.ndarray, config: PreprocessConfig, aug: Augment, draws: np.ndarray | None
) -> np.ndarray:
    rows, cols = pixels.shape
    if config.fit == "crop":
        # Largest centred window with the input's aspect ratio.
        target = config.width / config.height
        if cols / rows > target:
            new_cols = max(1, round(rows * target))
            start = (cols - new_cols) // 2
            pixels = pixels[:, start : start + new_cols]
        else:
            new_rows = max(1, round(cols / target))
            start = (rows - new_rows) // 2
            pixels = pixels[start : start + new_rows]
        rows, cols = pixels.shape
    if aug.crop < 1.0 and draws is not None:
        h, w = max(1, round(rows * aug.crop)), max(1, round(cols * aug.crop))
        top = int(draws[0] * (rows - h + 1))
        left = int(draws[1] * (cols - w + 1))
        pixels = pixels[top : top + h, left : left + w]
    return pixels


def _augment(x: torch.Tensor, aug: Augment, draws: np.ndarray) -> torch.Tensor:
    """Flip, rotation and intensity jitter from four uniform [0, 1) draws."""
    flip, angle, gain, offset = draws[0], 2 * draws[1] - 1, 2 * draws[2] - 1, 2 * draws[3] - 1
    if aug.flip and flip < 0.5:
        x = torch.flip(x, dims=(-1,))
    if aug.rotate_deg > 0:
        x = _rotate(x, math.radians(angle * aug.rotate_deg))
    if aug.intensity > 0:
        x = (x * (1.0 + gain * aug.intensity) + offset * aug.intensity).clamp(0.0, 1.0)
    return x


def _rotate(x: torch.Tensor, radians: float) -> torch.Tensor:
    """Rotate (1, H, W) about its centre, bilinear; pixels from outside copy the border.

    MONAI's Rotate does the same, but importing MONAI costs 5-18 s here and its call ~10x
    this one (it wraps results in MetaTensors), so the loader uses torch directly.
    """
    height, width = x.shape[-2:]
    cos, sin = math.cos(radians), math.sin(radians)
    # affine_grid works in normalised [-1, 1] coordinates: scale by the aspect ratio so the
    # rotation is rigid in pixels on a non-square image.
    theta = torch.tensor(
        [[cos, -sin * height / width, 0.0], [sin * width / height, cos, 0.0]],
        dtype=x.dtype,
    )[None]
    grid = torch.nn.functional.affine_grid(theta, [1, 1, height, width], align_corners=False)
    out = torch.nn.functional.grid_sample(
        x[None], grid, mode="bilinear", padding_mode="border", align_corners=False
    )
    return out[0]


def _normalise(x: torch.Tensor, how: str) -> torch.Tensor:
    if how == "zscore":
        std = x.std()
        return (x - x.mean()) / (std if std > 0 else 1.0)
    return x


def load(
    source: Source, config: PreprocessConfig, rng: np.random.Generator | None = None
) -> torch.Tensor:
    """One DICOM file (path, bytes or dataset) -> network input (1, height, width)."""
    return prepare(decode(source), config, rng)


def load_one(source: Source, config: PreprocessConfig) -> torch.Tensor:
    """Inference input for one image: (1, 1, height, width), never augmented."""
    return load(source, config)[None]


def load_batch(
    sources: Sequence[Source], config: PreprocessConfig, rng: np.random.Generator | None = None
) -> torch.Tensor:
    """A batch (N, 1, height, width): `load()` on each image, stacked."""
    return torch.stack([load(s, config, rng) for s in sources])


# Inputs kept in memory per dataset when nothing random changes them between epochs (a
# validation set, or training without augmentation): decoding a 768x512 DICOM costs far more
# than the small network inputs of a CPU run. Past the budget, items are decoded every time.
CACHE_BYTES = 1024**3


class ImageDataset(torch.utils.data.Dataset):
    """Files and targets for a DataLoader; item i is (load(file i), target i).

    With augmentation, item i of epoch e draws from a generator seeded by (seed, e, i), so a
    run is reproducible whatever the number of loader workers. Call `set_epoch` each epoch.
    Without augmentation an item is the same every epoch, so it is decoded once and kept
    (up to CACHE_BYTES).
    """

    def __init__(
        self,
        sources: Sequence[Source],
        targets: Sequence[float] | np.ndarray | torch.Tensor,
        config: PreprocessConfig,
        *,
        train: bool = False,
        seed: int = 0,
    ) -> None:
        if len(sources) != len(targets):
            raise ValueError(f"{len(sources)} images but {len(targets)} targets")
        self.sources = list(sources)
        self.targets = torch.as_tensor(np.asarray(targets))
        self.config = config
        self.train = train
        self.seed = seed
        self.epoch = 0
        self._cache: dict[int, torch.Tensor] = {}
        self._cached_bytes = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.sources)

    @property
    def _random(self) -> bool:
        return self.train and self.config.augment != Augment()

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self._random:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            return load(self.sources[index], self.config, rng), self.targets[index]
        x = self._cache.get(index)
        if x is None:
            x = load(self.sources[index], self.config)
            size = x.element_size() * x.nelement()
            if self._cached_bytes + size <= CACHE_BYTES:
                self._cache[index] = x
                self._cached_bytes += size
        return x, self.targets[index]
