"""No served demo file carries an original identifier: every tag of every file is walked."""

import io
from pathlib import Path

import pydicom
import pytest
from django.test import Client
from pydicom.data import get_testdata_files

from demo.accounts import ADMIN
from demo.seeding import DemoSize, seed_demo
from demo.synthetic.generate import generate_chest_dataset, generate_mr_dataset
from imaging.models import ImageFile

SIZE = DemoSize(chest_images=8, mr_series=2, mr_slices=3, real_files=True)
SEED = 11
IDENTIFYING = (
    "PatientName", "PatientID", "PatientBirthDate", "OtherPatientIDs", "PatientAddress",
    "InstitutionName", "InstitutionAddress", "ReferringPhysicianName", "AccessionNumber",
    "OperatorsName", "PerformingPhysicianName", "StationName", "DeviceSerialNumber",
    "PatientTelephoneNumbers",
)  # fmt: skip
UID_ATTRIBUTES = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID")
# Placeholder values a source file may itself carry; they identify no one.
HARMLESS = {"", "ANONYMIZED", "ANONYMOUS", "UNKNOWN", "NONE", "TEST", "PHANTOM", "DEMO"}


def _originals(tmp_path: Path) -> list[Path]:
    """The same files the demo generated (generation is deterministic), plus pydicom's."""
    chest = generate_chest_dataset(tmp_path / "chest", SIZE.chest_images, SEED)
    mr = generate_mr_dataset(tmp_path / "mr", SIZE.mr_series, SIZE.mr_slices, SEED)
    return [g.path for g in chest] + [p for s in mr for p in s.paths] + get_testdata_files()


def _secrets(paths: list[Path]) -> tuple[set[str], set[str]]:
    texts, uids, vendors = set(), set(), set()
    for path in paths:
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        except Exception:
            continue
        for keyword in IDENTIFYING:
            value = ds.get(keyword)
            for part in value if isinstance(value, pydicom.multival.MultiValue) else [value]:
                text = str(part or "").strip()
                if len(text) >= 4 and text.upper() not in HARMLESS:
                    texts.add(text)
        vendors |= {str(ds.get("Manufacturer", "")), str(ds.get("ManufacturerModelName", ""))}
        for keyword in UID_ATTRIBUTES:
            if ds.get(keyword):
                uids.add(str(ds.get(keyword)))
    # Some sample files put a vendor's name in InstitutionName or StationName; the vendor
    # (Manufacturer) is kept on purpose, so such a string identifies no one.
    return {t for t in texts if not any(t in vendor for vendor in vendors)}, uids


def _walk(dataset):
    yield from dataset.iterall()


@pytest.mark.django_db
def test_no_served_demo_file_holds_an_original_identifier(tmp_path):
    seed_demo(SIZE, seed=SEED, say=lambda _msg: None)
    texts, uids = _secrets(_originals(tmp_path))
    assert len(texts) > 20 and len(uids) > 50, "the originals do carry identifiers"

    client = Client()
    client.force_login(pydicom_admin())
    files = list(ImageFile.objects.all())
    assert len(files) > 40
    for image_file in files:
        response = client.get(
            "/wado/", {"requestType": "WADO", "objectUID": image_file.sop_instance_uid}
        )
        assert response.status_code == 200
        served = pydicom.dcmread(io.BytesIO(b"".join(response.streaming_content)))
        assert served.PatientIdentityRemoved == "YES"
        elements = list(_walk(served.file_meta)) + list(_walk(served))
        for element in elements:
            assert not element.tag.is_private, f"private tag {element.tag} kept"
            if (
                element.VR in ("OB", "OW", "OF", "OD", "OL", "UN", "SQ")
                or element.tag == 0x7FE00010
            ):
                continue
            value = str(element.value)
            assert value not in uids, f"original UID kept in {element.keyword or element.tag}"
            # Short or purely numeric values (an ID "0010") count as a whole value only: as a
            # substring they turn up in any number (a position "0.000000000").
            leaked = [t for t in texts if t == value or (_wordlike(t) and t in value)]
            assert not leaked, f"{element.keyword or element.tag} still holds {leaked!r}"


def _wordlike(text: str) -> bool:
    return len(text) >= 6 and any(c.isalpha() for c in text)


def pydicom_admin():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=ADMIN)


@pytest.mark.django_db
def test_the_demo_has_known_truth_and_leaves_every_rater_work_to_do():
    from demo.seeding import CHEST_STUDY, MR_STUDY
    from imaging.models import Image
    from ratings.models import Assessment, ReaderStudy, StudyImage

    seed_demo(DemoSize(chest_images=12, mr_series=3, mr_slices=2, real_files=False), seed=3,
              say=lambda _msg: None)  # fmt: skip
    for name in (CHEST_STUDY, MR_STUDY):
        study = ReaderStudy.objects.get(name=name)
        n_images = StudyImage.objects.filter(study=study).count()
        raters = study.memberships.filter(role="rater").values_list("user_id", flat=True)
        assert len(raters) == (10 if name == CHEST_STUDY else 2)
        for rater in raters:
            done = Assessment.objects.filter(study=study, rater_id=rater).count()
            assert 0 < done < n_images, f"rater {rater} in {name}: {done} of {n_images}"
    chest = Image.objects.filter(dataset__name="Demo chest radiographs")
    assert chest.count() == 12
    assert all(1 <= image.truth["gray_level"] <= 10 for image in chest)
    assert all(image.rows == 768 and image.columns == 512 for image in chest)
    assert {"DX", "CR"} >= set(chest.values_list("modality", flat=True))
    # The demo's coordinator may set studies up and bring images in (the README offers it).
    from django.contrib.auth import get_user_model

    from demo.accounts import COORDINATOR
    from ratings.permissions import may_create_dataset, may_create_study

    coordinator = get_user_model().objects.get(username=COORDINATOR)
    assert may_create_study(coordinator) and may_create_dataset(coordinator)


@pytest.mark.django_db
def test_statistics_on_the_demo_study_recover_the_planted_rater_biases():
    """The chest study's report finds each simulated rater's bias; the largest is flagged."""
    from demo.seeding import CHEST_STUDY
    from demo.synthetic.raters import default_raters
    from ratings.models import RaterProfile, ReaderStudy
    from ratings.results.study_data import study_report

    seed_demo(DemoSize(chest_images=60, mr_series=2, mr_slices=1, real_files=False), seed=8,
              say=lambda _msg: None)  # fmt: skip
    report = study_report(ReaderStudy.objects.get(name=CHEST_STUDY))
    pseudonym = dict(RaterProfile.objects.values_list("user__username", "pseudonym"))
    planted = {pseudonym[r.key]: r.bias for r in default_raters()}
    most_biased = max(planted, key=lambda name: abs(planted[name]))
    for key in ("gray-level", "sharpness"):
        raters = report["dimensions"][key]["raters"]
        flagged = [name for name, row in raters.items() if row["largest_bias"]]
        assert flagged == [most_biased]
        # Scores are clipped to 1..10, which shrinks a bias near the top: allow for it.
        for name, bias in planted.items():
            assert abs(raters[name]["bias"] - bias) < 0.5, (key, name, raters[name]["bias"], bias)
