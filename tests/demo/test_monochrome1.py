"""A MONOCHROME1 file displays exactly like its MONOCHROME2 twin once inverted for display."""

from datetime import datetime

import numpy as np
import pydicom
from pydicom.pixels import apply_voi_lut

from demo.synthetic.degrade import to_12bit
from demo.synthetic.dicom_writer import RadiographInfo, StudyInfo, uid, write_radiograph
from demo.synthetic.identities import fake_patient, fake_sites
from demo.synthetic.phantoms import chest_phantom, random_chest_anatomy


def _displayed(ds):
    """What a viewer shows: VOI window to [0, 1], then white-is-low for MONOCHROME1."""
    # pydicom's linear VOI maps the window onto the stored range, 0..4095 for 12 bits.
    voi = apply_voi_lut(ds.pixel_array, ds).astype(np.float64) / 4095.0
    return 1.0 - voi if ds.PhotometricInterpretation == "MONOCHROME1" else voi


def test_monochrome1_displays_like_monochrome2(tmp_path):
    rng = np.random.default_rng(0)
    pixels = to_12bit(chest_phantom(random_chest_anatomy(rng)))
    study = StudyInfo(
        fake_patient(rng), fake_sites(rng)[0], uid("s"), "A1", datetime(2019, 7, 2, 9), "X^Y", "Z^W"
    )
    shown = {}
    for photometric in ("MONOCHROME1", "MONOCHROME2"):
        info = RadiographInfo("CR", photometric, uid("se", photometric), uid("i", photometric))
        ds = pydicom.dcmread(write_radiograph(tmp_path / f"{photometric}.dcm", pixels, study, info))
        shown[photometric] = _displayed(ds)
        stored = ds.pixel_array
        if photometric == "MONOCHROME1":
            np.testing.assert_array_equal(stored, 4095 - pixels)
        else:
            np.testing.assert_array_equal(stored, pixels)
    np.testing.assert_allclose(shown["MONOCHROME1"], shown["MONOCHROME2"], atol=1e-9)
    # Lungs (dark on display) must stay dark: a wrong inversion would flip the whole picture.
    assert shown["MONOCHROME1"][300, 128] < shown["MONOCHROME1"][700, 256]
