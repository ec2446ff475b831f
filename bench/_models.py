"""Shared set-up for bench/infer.py and bench/train.py: the models, their sizes, a DICOM file."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# (line name, registry arch, outputs): CaHDC-RGA regresses the MOS, the MRI nets classify 3 ways.
NETWORKS = (
    ("CaHDC-RGA", "cahdc-rga", 1),
    ("ConvNet-4", "convnet4", 3),
    ("ResNet-10", "resnet10", 3),
)
# The head-CT paper's images are CT slices, 512 x 512 in the standard CT matrix.
IQM_INPUT_SIZE = (512, 512)


def synthetic_radiograph(folder: Path | None = None, seed: int = 0) -> Path:
    """A 768-row x 512-column 12-bit chest radiograph (the demo's phantom, a little blur and
    noise) written with pydicom, as ingest would have stored it."""
    from tests.inference.synthetic import clean_chest, degraded, write_chest_dicom

    folder = folder or Path(tempfile.mkdtemp(prefix="bench-infer-"))
    image = degraded(clean_chest(seed), blur=1.0, noise=0.01, seed=seed)
    return write_chest_dicom(folder / f"cxr-{seed}.dcm", image)
