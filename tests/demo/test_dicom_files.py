"""Generated files are proper DICOM: pydicom reads them back with the right tags and pixels."""

import numpy as np
import pydicom

from demo.synthetic.dicom_writer import CR_IMAGE, DX_FOR_PRESENTATION, MR_IMAGE


def test_radiographs_read_back_with_tags(chest_dataset):
    _, images = chest_dataset
    for img in images:
        ds = pydicom.dcmread(img.path)
        assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
        assert ds.Modality == img.modality
        assert ds.SOPClassUID == (DX_FOR_PRESENTATION if img.modality == "DX" else CR_IMAGE)
        assert (ds.Rows, ds.Columns) == (768, 512)
        assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation) == (
            16,
            12,
            11,
            0,
        )
        assert ds.PhotometricInterpretation == img.photometric
        assert float(ds.RescaleSlope) == 1 and float(ds.RescaleIntercept) == 0
        # Full-range window, so the viewer shows the gray-level degradation as planted.
        assert (float(ds.WindowCenter), float(ds.WindowWidth)) == (2048, 4096)
        assert len(ds.ImagerPixelSpacing) == 2
        assert ds.Manufacturer and ds.InstanceNumber == 1
        for tag in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
            pydicom.uid.UID(ds[tag].value).is_valid  # noqa: B018
        assert ds.SOPInstanceUID == ds.file_meta.MediaStorageSOPInstanceUID
        pixels = ds.pixel_array
        assert pixels.dtype == np.uint16 and pixels.max() <= 4095


def test_uids_are_unique_per_file(chest_dataset):
    _, images = chest_dataset
    sops = {pydicom.dcmread(i.path, stop_before_pixels=True).SOPInstanceUID for i in images}
    assert len(sops) == len(images)


def test_both_modalities_and_photometrics_occur(chest_dataset):
    _, images = chest_dataset
    assert {i.modality for i in images} == {"DX", "CR"}
    assert {i.photometric for i in images} == {"MONOCHROME1", "MONOCHROME2"}


def test_mr_series_is_one_file_per_slice_sharing_a_series(mr_dataset):
    _, series = mr_dataset
    for s in series:
        slices = [pydicom.dcmread(p) for p in s.paths]
        assert len(slices) == 5
        assert len({d.SeriesInstanceUID for d in slices}) == 1
        assert len({d.SOPInstanceUID for d in slices}) == 5
        assert [d.InstanceNumber for d in slices] == [1, 2, 3, 4, 5]
        z = [float(d.ImagePositionPatient[2]) for d in slices]
        assert np.all(np.diff(z) > 0)
        assert [float(d.SliceLocation) for d in slices] == z
        for d in slices:
            assert d.Modality == "MR" and d.SOPClassUID == MR_IMAGE
            assert (d.BitsAllocated, d.BitsStored, d.PixelRepresentation) == (16, 16, 0)
            assert d.pixel_array.shape == (256, 256)
    assert series[0].truth_label in {"non_diagnostic", "diagnostic", "excellent"}
