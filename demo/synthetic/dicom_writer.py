"""Write synthetic radiographs and MR slices as DICOM Part 10 files (explicit VR little endian)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

from demo.synthetic.identities import FakePatient, FakeSite, dicom_age

DX_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.1"
CR_IMAGE = "1.2.840.10008.5.1.4.1.1.1"
MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"
PRIVATE_CREATOR = "IQA DEMO VENDOR 1.0"
PRIVATE_GROUP = 0x0029
MAX_12BIT = 4095


@dataclass(frozen=True)
class StudyInfo:
    """What every image of one exam shares: patient, site, staff, dates and study UID."""

    patient: FakePatient
    site: FakeSite
    study_uid: str
    accession_number: str
    when: datetime
    referring_physician: str
    operator: str
    study_id: str = "1"
    description: str = "CHEST PA"


@dataclass(frozen=True)
class RadiographInfo:
    """Per-image acquisition details of a chest radiograph."""

    modality: str  # "DX" or "CR"
    photometric: str  # "MONOCHROME2" or "MONOCHROME1"
    series_uid: str
    sop_uid: str
    instance_number: int = 1
    series_number: int = 1
    pixel_spacing_mm: float = 0.52
    kvp: float = 120.0
    mas: float = 2.5


@dataclass(frozen=True)
class MRSeriesInfo:
    """What the slices of one MR series share."""

    series_uid: str
    frame_of_reference_uid: str
    sop_uids: list[str] = field(default_factory=list)  # one per slice
    slice_thickness_mm: float = 5.0
    pixel_spacing_mm: float = 0.9
    first_slice_z_mm: float = -40.0
    series_number: int = 1
    field_strength_t: float = 1.5


def uid(*entropy: object) -> str:
    """A DICOM UID derived from the given values, so a seed reproduces the same UIDs."""
    return generate_uid(entropy_srcs=[str(e) for e in entropy])


def _base(study: StudyInfo, sop_class: str, sop_uid: str, modality: str) -> Dataset:
    """File meta plus the patient, study, equipment and SOP common modules, PHI included."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    p, s, when = study.patient, study.site, study.when
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = when.strftime("%Y%m%d")
    ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = when.strftime("%H%M%S")
    ds.AccessionNumber = study.accession_number
    ds.Modality = modality
    ds.Manufacturer = s.manufacturer
    ds.InstitutionName = s.institution
    ds.InstitutionAddress = s.address
    ds.InstitutionalDepartmentName = s.department
    ds.ReferringPhysicianName = study.referring_physician
    ds.StationName = s.station
    ds.StudyDescription = study.description
    ds.OperatorsName = study.operator
    ds.ManufacturerModelName = s.model
    ds.PatientName = p.name
    ds.PatientID = p.patient_id
    ds.IssuerOfPatientID = s.institution
    ds.PatientBirthDate = p.birth_date.strftime("%Y%m%d")
    ds.PatientSex = p.sex
    ds.OtherPatientIDs = p.other_id
    ds.PatientAge = dicom_age(p.birth_date, when.date())
    ds.PatientAddress = p.address
    ds.PatientTelephoneNumbers = p.phone
    ds.DeviceSerialNumber = s.device_serial
    ds.StudyInstanceUID = study.study_uid
    ds.StudyID = study.study_id
    # Vendors do hide identifiers in private tags; de-identification must drop or vet them.
    block = ds.private_block(PRIVATE_GROUP, PRIVATE_CREATOR, create=True)
    block.add_new(0x10, "LO", p.name.replace("^", " "))
    block.add_new(0x11, "LT", f"Exposed by {study.operator.replace('^', ' ')} at {s.station}")
    return ds


def _image_pixel(ds: Dataset, stored: np.ndarray, bits_stored: int, photometric: str) -> None:
    """Image Pixel module for unsigned single-sample greyscale data."""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = stored.shape
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    ds.PixelData = np.ascontiguousarray(stored, dtype="<u2").tobytes()


def _window(values: np.ndarray) -> tuple[int, int]:
    """Window centre and width covering the 1st-99th percentile of the values (MR only)."""
    lo, hi = np.percentile(values[::4, ::4], [1.0, 99.0])
    return int(round((lo + hi) / 2)), max(int(round(hi - lo)), 2)


def write_radiograph(
    path: str | Path, display12: np.ndarray, study: StudyInfo, image: RadiographInfo
) -> Path:
    """Write one chest radiograph; `display12` holds 12-bit values where high means white.

    For MONOCHROME1 the stored values and the window centre are inverted (stored = 4095 - v,
    centre = 4096 - c, which is exact under the DICOM linear VOI formula), so a viewer that
    honours the photometric interpretation shows the same picture as for MONOCHROME2.
    """
    path = Path(path)
    sop_class = DX_FOR_PRESENTATION if image.modality == "DX" else CR_IMAGE
    ds = _base(study, sop_class, image.sop_uid, image.modality)
    # A fixed full-range window: a window fitted to each image would undo the gray-level
    # degradation (a flat image would be stretched back) before the rater ever saw it.
    center, width = (MAX_12BIT + 1) // 2, MAX_12BIT + 1
    inverted = image.photometric == "MONOCHROME1"
    stored = MAX_12BIT - display12 if inverted else display12
    ds.SeriesInstanceUID = image.series_uid
    ds.SeriesNumber = image.series_number
    ds.InstanceNumber = image.instance_number
    ds.SeriesDescription = "PA"
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = "PA"
    ds.PatientOrientation = ["L", "F"]
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.KVP = image.kvp
    ds.Exposure = round(image.mas)
    ds.ExposureInuAs = round(image.mas * 1000)
    ds.DistanceSourceToDetector = 1800
    ds.ImagerPixelSpacing = [image.pixel_spacing_mm, image.pixel_spacing_mm]
    if image.modality == "DX":
        ds.PresentationIntentType = "FOR PRESENTATION"
        ds.PixelIntensityRelationship = "LOG"
        # +1: low stored values mean little X-ray reached the detector (bone), as in MONOCHROME1.
        ds.PixelIntensityRelationshipSign = 1 if inverted else -1
    ds.RescaleIntercept = 0
    ds.RescaleSlope = 1
    ds.RescaleType = "US"
    ds.WindowCenter = MAX_12BIT + 1 - center if inverted else center
    ds.WindowWidth = width
    ds.VOILUTFunction = "LINEAR"
    ds.ImageComments = f"Follow-up chest, {study.patient.name.split('^')[1]} asked for report copy"
    _image_pixel(ds, stored, 12, image.photometric)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_mr_series(
    folder: str | Path, volume: np.ndarray, study: StudyInfo, series: MRSeriesInfo
) -> list[Path]:
    """Write an axial MR series, one file per slice (16-bit unsigned), sharing one series UID."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    center, width = _window(volume[len(volume) // 2])
    paths = []
    for i, pixels in enumerate(volume):
        ds = _base(study, MR_IMAGE, series.sop_uids[i], "MR")
        z = series.first_slice_z_mm + i * series.slice_thickness_mm
        ds.SeriesInstanceUID = series.series_uid
        ds.SeriesNumber = series.series_number
        ds.InstanceNumber = i + 1
        ds.SeriesDescription = "AX T1 SE"
        ds.ProtocolName = "BRAIN ROUTINE"
        ds.BodyPartExamined = "HEAD"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND"]
        ds.ScanningSequence = "SE"
        ds.SequenceVariant = "NONE"
        ds.ScanOptions = ""
        ds.MRAcquisitionType = "2D"
        ds.RepetitionTime = 500
        ds.EchoTime = 15
        ds.MagneticFieldStrength = series.field_strength_t
        ds.SliceThickness = series.slice_thickness_mm
        ds.SpacingBetweenSlices = series.slice_thickness_mm
        # Ghosts run along the phase-encode direction, which is the columns here.
        ds.InPlanePhaseEncodingDirection = "COL"
        ds.PatientPosition = "HFS"
        ds.FrameOfReferenceUID = series.frame_of_reference_uid
        rows, cols = pixels.shape
        sp = series.pixel_spacing_mm
        ds.ImagePositionPatient = [-cols * sp / 2, -rows * sp / 2, z]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [sp, sp]
        ds.SliceLocation = z
        ds.WindowCenter = center
        ds.WindowWidth = width
        _image_pixel(ds, pixels, 16, "MONOCHROME2")
        path = folder / f"{i + 1:03d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths
