"""De-identification follows the PS3.15 Basic Profile: nothing identifying survives, UIDs are
replaced consistently and deterministically, and what analyses need is kept."""

from __future__ import annotations

import copy
import uuid
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage

from imaging.dicom.basic_profile import table_action
from imaging.dicom.deidentify import deidentify, keyed_hash, replace_uid
from imaging.dicom.process import ProcessedFile, process_file
from tests.imaging.dicom.helpers import SECRET, all_test_files, data_file, encode, read, short_name

IDENTIFYING = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "InstitutionName",
    "ReferringPhysicianName",
    "AccessionNumber",
)
# UIDs that name a kind of thing (SOP class, coding scheme), not a patient or an exam.
CLASS_UID_KEYWORDS = {
    "SOPClassUID",
    "ReferencedSOPClassUID",
    "MediaStorageSOPClassUID",
    "ImplementationClassUID",  # the writing software, not the patient
}


def walk_all(ds: Dataset):
    """Every element at any depth, file meta included."""
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        yield from meta.iterall()
    yield from ds.iterall()


def originals(ds: Dataset) -> tuple[dict[str, set[str]], set[str]]:
    """Identifying values by keyword, and instance-level UIDs, found anywhere in `ds`."""
    values: dict[str, set[str]] = {keyword: set() for keyword in IDENTIFYING}
    uids: set[str] = set()
    for elem in walk_all(ds):
        if elem.keyword in values and elem.value not in (None, ""):
            values[elem.keyword].add(str(elem.value).strip())
        if elem.VR == "UI" and elem.keyword not in CLASS_UID_KEYWORDS and elem.value:
            for uid in elem.value if elem.VM > 1 else [elem.value]:
                if not str(uid).startswith("1.2.840.10008."):
                    uids.add(str(uid))
    return values, uids


def assert_deidentified(source: Dataset, output_path: Path) -> None:
    found, original_uids = originals(source)
    # The profile keeps the manufacturer; a test file that names its vendor as the
    # institution too (OFFIS) is no leak.
    kept = [str(source.get(k, "")) for k in ("Manufacturer", "ManufacturerModelName")]
    found = {
        keyword: {v for v in values if not any(v in text for text in kept)}
        for keyword, values in found.items()
    }
    out = pydicom.dcmread(output_path)
    strings: set[str] = set()
    for elem in walk_all(out):
        assert not elem.tag.is_private, f"private tag {elem.tag} kept"
        if elem.VR == "SQ" or elem.tag == 0x7FE00010:
            continue
        raw = elem.value
        for value in raw if elem.VM > 1 and not isinstance(raw, str | bytes) else [raw]:
            strings.add(str(value).strip())
        if elem.keyword in found:
            assert str(elem.value).strip() not in found[elem.keyword] - {""}, elem
    leaked_uids = original_uids & strings
    assert not leaked_uids, f"original UIDs kept: {sorted(leaked_uids)[:3]}"
    for keyword, values in found.items():
        for value in values:
            if len(value) >= 4 and value != "ANONYMIZED":
                assert value not in strings, f"{keyword} {value!r} survives"
    # The bytes outside the pixel data hold no identifying text either (catches anything a
    # walk could miss, e.g. values in elements pydicom does not know).
    del out.PixelData
    body = encode(out)
    for values in found.values():
        for value in values:
            if len(value) >= 6 and value != "ANONYMIZED":
                assert value.encode() not in body, f"{value!r} in the written bytes"


PIXEL_FILES = [
    path for path in all_test_files() if path.suffix == ".dcm" or path.parent.name.isdigit()
]


@pytest.mark.parametrize("path", PIXEL_FILES, ids=short_name)
def test_written_files_keep_no_identifiers_private_tags_or_original_uids(path, out_dir):
    result = process_file(path, secret=SECRET, out_dir=out_dir, allow_burned_in=True)
    if not isinstance(result, ProcessedFile):
        pytest.skip(f"refused: {result.code}")
    assert_deidentified(pydicom.dcmread(path), Path(result.path))
    out = pydicom.dcmread(result.path)
    assert out.PatientIdentityRemoved == "YES"
    assert out.SOPInstanceUID == result.sop_instance_uid == out.file_meta.MediaStorageSOPInstanceUID


def rich_dataset() -> Dataset:
    """CT_small dressed with identifying data at every level the profile cares about."""
    ds = read("CT_small.dcm")
    ds.PatientName = "Doe^Johnathan"
    ds.PatientID = "PID-0042-XYZ"
    ds.IssuerOfPatientID = "GENERAL-HOSPITAL"
    ds.PatientBirthDate = "19600315"
    ds.PatientSex = "F"
    ds.PatientAge = "045Y"
    ds.AccessionNumber = "ACC-778899"
    ds.InstitutionName = "Saint Example Hospital"
    ds.InstitutionAddress = "1 Main Street, Springfield"
    ds.ReferringPhysicianName = "House^Gregory"
    ds.PerformingPhysicianName = "Wilson^James"
    ds.OperatorsName = "Tech^Tina"
    ds.StationName = "CT-ROOM-7"
    ds.DeviceSerialNumber = "SN-4711-ABC"
    ds.StudyDescription = "CHEST Doe^Johnathan follow-up"
    ds.SeriesDescription = "axial for Doe"
    ds.ImageComments = "patient PID-0042-XYZ moved"
    ds.ProtocolName = "Doe protocol"
    ds.AcquisitionDateTime = "20240101120000"
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = "PA"
    ds.ImagerPixelSpacing = [0.5, 0.5]
    ds.WindowCenter, ds.WindowWidth = 40, 400
    other = Dataset()
    other.PatientID = "OTHER-ID-555"
    ds.OtherPatientIDsSequence = Sequence([other])
    request = Dataset()
    request.AccessionNumber = "ACC-778899"
    request.RequestedProcedureID = "RP-1234"
    ds.RequestAttributesSequence = Sequence([request])
    reference = Dataset()
    reference.ReferencedSOPClassUID = CTImageStorage
    reference.ReferencedSOPInstanceUID = "1.2.3.4.5.6.7.8.9"
    reference.ReferringPhysicianName = "Nested^Doctor"  # not where it belongs: still a PN
    block = reference.private_block(0x0029, "ACME 1.0", create=True)
    block.add_new(0x01, "LO", "Doe^Johnathan in a private nested tag")
    ds.ReferencedImageSequence = Sequence([reference])
    ds.add_new(0x60003000, "OW", b"\x00\x01" * 32)  # Overlay Data
    ds.add_new(0x60004000, "LT", "overlay note")  # Overlay Comments
    ds.add_new(0x50003000, "OW", b"\x00" * 8)  # Curve Data (retired)
    ds.file_meta.SourceApplicationEntityTitle = "HOSPITAL_AE"
    return pydicom.dcmread(pydicom.filebase.DicomBytesIO(encode(ds)))


def test_profile_actions_on_a_richly_identified_file(out_dir):
    source = rich_dataset()
    pixels_before = source.PixelData
    result = process_file(encode(source), secret=SECRET, out_dir=out_dir)
    assert isinstance(result, ProcessedFile), result
    assert_deidentified(source, Path(result.path))
    out = pydicom.dcmread(result.path)

    for keyword in (  # X: removed
        "PatientAge",
        "IssuerOfPatientID",
        "OtherPatientIDsSequence",
        "PerformingPhysicianName",
        "InstitutionAddress",
        "StudyDescription",
        "SeriesDescription",
        "ImageComments",
        "RequestAttributesSequence",
    ):
        assert keyword not in out, keyword
    assert 0x60003000 not in out and 0x60004000 not in out and 0x50003000 not in out
    assert "SourceApplicationEntityTitle" not in out.file_meta
    for keyword in (  # Z: present, empty
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
        "AccessionNumber",
        "ReferringPhysicianName",
        "StudyDate",
        "StudyID",
    ):
        assert keyword in out and out[keyword].is_empty, keyword
    for keyword in ("InstitutionName", "StationName", "DeviceSerialNumber", "OperatorsName"):
        assert out[keyword].value == "ANONYMIZED", keyword  # X/Z/D and X/D resolved to D
    # U* inside a kept sequence: the reference follows the referenced image's new UID.
    item = out.ReferencedImageSequence[0]
    assert item.ReferencedSOPInstanceUID == replace_uid("1.2.3.4.5.6.7.8.9", SECRET)
    assert item.ReferencedSOPClassUID == CTImageStorage
    assert item.ReferringPhysicianName == ""  # unlisted PN in a sequence: blanked
    # Kept for analyses.
    for keyword in (
        "Modality",
        "Manufacturer",
        "ManufacturerModelName",
        "BodyPartExamined",
        "ViewPosition",
        "ImagePositionPatient",
        "ImageOrientationPatient",
        "PixelSpacing",
        "ImagerPixelSpacing",
        "WindowCenter",
        "WindowWidth",
        "RescaleSlope",
        "RescaleIntercept",
        "InstanceNumber",
        "PhotometricInterpretation",
        "BitsStored",
        "PixelRepresentation",
    ):
        assert out[keyword].value == source[keyword].value, keyword
    assert out.file_meta.TransferSyntaxUID == source.file_meta.TransferSyntaxUID
    assert out.PixelData == pixels_before
    # The profile's own markers (PS3.15 E.1.1; CID 7050 code 113100).
    assert out.PatientIdentityRemoved == "YES"
    assert "Basic Profile" in out.DeidentificationMethod
    code = out.DeidentificationMethodCodeSequence[0]
    assert (code.CodeValue, code.CodingSchemeDesignator) == ("113100", "DCM")
    assert code.CodeMeaning == "Basic Application Confidentiality Profile"
    # Derived, non-identifying facts.
    assert result.patient_sex == "F"
    assert result.age_band == "40-49"
    assert result.patient_key == keyed_hash(
        SECRET, "patient-id", "GENERAL-HOSPITAL", "PID-0042-XYZ"
    )
    assert result.patient_key_source == "patient_id"
    assert result.site_key and "Saint" not in result.site_key


def test_patient_and_site_keys_are_stable_per_patient_and_secret():
    a, b, c = rich_dataset(), rich_dataset(), rich_dataset()
    b.SOPInstanceUID = "1.2.3.999"  # another image of the same patient
    c.PatientID = "SOMEONE-ELSE"
    ka, kb, kc = (deidentify(copy.deepcopy(x), SECRET) for x in (a, b, c))
    assert ka.patient_key == kb.patient_key != kc.patient_key
    assert ka.site_key == kb.site_key == kc.site_key
    assert deidentify(copy.deepcopy(a), b"other secret").patient_key != ka.patient_key
    assert ka.source_uid_hash != kb.source_uid_hash


@pytest.mark.parametrize(
    ("age", "birth", "study", "band"),
    [
        ("045Y", "", "", "40-49"),
        ("006M", "", "", "0-9"),
        ("", "19500615", "20240614", "70-79"),
        ("", "19500615", "20240615", "70-79"),
        ("", "19300101", "20240101", "90+"),
        ("095Y", "", "", "90+"),
        ("", "", "20240101", ""),
        ("garbage", "", "", ""),
    ],
)
def test_age_band_from_age_or_birth_and_study_date(age, birth, study, band):
    ds = rich_dataset()
    del ds.PatientAge
    if age:
        ds.PatientAge = age
    ds.PatientBirthDate, ds.StudyDate = birth, study
    for keyword in ("SeriesDate", "AcquisitionDate", "ContentDate"):
        if keyword in ds:
            del ds[keyword]
    assert deidentify(ds, SECRET).age_band == band


def test_uids_of_a_series_are_replaced_consistently_and_deterministically(tmp_path):
    folder = data_file("4467").parent  # dicomdirtests/98892003/MR700: one series, 7 files
    files = sorted(folder.iterdir())
    sources = [pydicom.dcmread(f) for f in files]
    assert len({ds.SeriesInstanceUID for ds in sources}) == 1

    def run(secret: bytes, out: str) -> list[ProcessedFile]:
        results = [
            process_file(f, secret=secret, out_dir=tmp_path / out, allow_burned_in=True)
            for f in files
        ]
        assert all(isinstance(r, ProcessedFile) for r in results), results
        return results

    first, again, other = run(SECRET, "a"), run(SECRET, "b"), run(b"another secret", "c")
    assert len({r.series_uid for r in first}) == 1
    assert len({r.study_uid for r in first}) == 1
    assert len({r.sop_instance_uid for r in first}) == len(files)
    assert first[0].series_uid != sources[0].SeriesInstanceUID
    assert [r.sop_instance_uid for r in first] == [r.sop_instance_uid for r in again]
    assert [r.sha256 for r in first] == [r.sha256 for r in again], "output bytes deterministic"
    assert not {r.sop_instance_uid for r in first} & {r.sop_instance_uid for r in other}
    assert first[0].patient_key != other[0].patient_key
    for result, source in zip(first, sources, strict=True):
        out = pydicom.dcmread(result.path)
        assert out.FrameOfReferenceUID == replace_uid(source.FrameOfReferenceUID, SECRET)


def test_replaced_uids_are_valid_2_25_uuid_uids():
    for original in ("1.2.3", "1.2.840.113619.2.1.1.322987881.621.736170080.681", "9" * 64):
        new = replace_uid(original, SECRET)
        assert new.startswith("2.25.") and len(new) <= 64
        digits = new.removeprefix("2.25.")
        assert digits.isdigit() and not digits.startswith("0")
        assert uuid.UUID(int=int(digits)).version == 8
        assert replace_uid(original, SECRET) == new


def test_table_actions_match_the_standard_for_key_attributes():
    expected = {
        0x00100010: "Z",  # Patient's Name
        0x00100020: "Z",  # Patient ID
        0x00100030: "Z",  # Patient's Birth Date
        0x00080080: "X/Z/D",  # Institution Name
        0x00080090: "Z",  # Referring Physician's Name
        0x00080050: "Z",  # Accession Number
        0x00080018: "U",  # SOP Instance UID
        0x0020000D: "U",  # Study Instance UID
        0x00081140: "X/Z/U*",  # Referenced Image Sequence
        0x00181000: "X/Z/D",  # Device Serial Number
        0x00101010: "X",  # Patient's Age
        0x00160070: "X",  # GPS Version ID (range)
        0x60023000: "X",  # Overlay Data, repeating group
    }
    for tag, action in expected.items():
        assert table_action(tag) == action, hex(tag)
    for kept in (0x00080060, 0x00080070, 0x00081090, 0x00180015, 0x00185101, 0x00280030):
        assert table_action(kept) is None  # Modality, Manufacturer, Model, Body Part, View, Spacing
