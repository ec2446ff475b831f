"""Files carry realistic identifiers, so the de-identification tests elsewhere mean something."""

import re
from collections import Counter

import pydicom

from demo.synthetic.dicom_writer import PRIVATE_CREATOR, PRIVATE_GROUP

PHI_KEYWORDS = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "PatientAge",
    "PatientAddress",
    "OtherPatientIDs",
    "InstitutionName",
    "ReferringPhysicianName",
    "AccessionNumber",
    "StudyDate",
    "StudyTime",
    "OperatorsName",
    "StationName",
)


def test_identifiers_present_and_realistic(chest_dataset, mr_dataset):
    paths = [i.path for i in chest_dataset[1]] + [p for s in mr_dataset[1] for p in s.paths]
    for path in paths:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        for keyword in PHI_KEYWORDS:
            assert str(ds.data_element(keyword).value).strip(), keyword
        assert re.fullmatch(r"[A-Z]+\^[A-Z][a-z]+\^[A-Z]", str(ds.PatientName))
        assert re.fullmatch(r"MRN\d{8}", ds.PatientID)
        assert re.fullmatch(r"\d{3}Y", ds.PatientAge) and 18 <= int(ds.PatientAge[:3]) <= 92
        assert ds.PatientSex in {"M", "F"}
        block = ds.private_block(PRIVATE_GROUP, PRIVATE_CREATOR)
        # The vendor's private tag repeats the patient's name: de-identification must catch it.
        assert block[0x10].value == str(ds.PatientName).replace("^", " ")


def test_several_images_per_patient_share_identifiers(chest_dataset):
    _, images = chest_dataset
    per_patient = Counter(i.patient_key for i in images)
    assert max(per_patient.values()) >= 2
    for key in per_patient:
        files = [
            pydicom.dcmread(i.path, stop_before_pixels=True) for i in images if i.patient_key == key
        ]
        assert len({(d.PatientName, d.PatientID, d.PatientBirthDate) for d in files}) == 1
        # Each exam is its own study, as follow-up radiographs are.
        assert len({d.StudyInstanceUID for d in files}) == len(files)
