"""Synthetic chest radiographs with known blur and noise, as arrays and as DICOM files."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np

from demo.synthetic.degrade import ChestDegradation, degrade_chest, to_12bit
from demo.synthetic.dicom_writer import RadiographInfo, StudyInfo, uid, write_radiograph
from demo.synthetic.identities import fake_patient, fake_sites
from demo.synthetic.phantoms import chest_phantom, random_chest_anatomy


def clean_chest(seed: int, shape: tuple[int, int] = (768, 512)) -> np.ndarray:
    """A clean phantom radiograph, display values in [0, 1], `shape` as rows x cols."""
    return chest_phantom(random_chest_anatomy(np.random.default_rng(seed)), shape)


def degraded(clean: np.ndarray, blur: float = 0.0, noise: float = 0.0, seed: int = 0):
    """The demo's own degradation chain: blur, then noise (SD as a fraction of full scale)."""
    spec = ChestDegradation(blur_sigma_px=blur, noise_sigma=noise, noise_seed=seed)
    return degrade_chest(clean, spec)


def write_chest_dicom(path: Path, display: np.ndarray, photometric: str = "MONOCHROME2") -> Path:
    """Write display values in [0, 1] as a 12-bit radiograph (the demo's writer)."""
    rng = np.random.default_rng(0)
    study = StudyInfo(
        fake_patient(rng), fake_sites(rng)[0], uid("s"), "A1", datetime(2020, 1, 2, 9), "X^Y", "Z^W"
    )
    info = RadiographInfo("CR", photometric, uid("se", path.name), uid("i", path.name))
    return write_radiograph(path, to_12bit(display), study, info)
