"""Dataset releases: a frozen, versioned zip whose checksums verify and whose bytes never change."""

import csv
import hashlib
import io
import zipfile

import pytest
from django.conf import settings
from PIL import Image as PILImage

from iqa_platform.jobs import JobStatus
from ratings.models import DatasetRelease, ExportKind, ImageFormat, StratifyBy
from ratings.results import jobs
from ratings.results.dashboard import study_report
from ratings.results.release import build_zip, create_release, data_card, release_zip_path
from ratings.results.splits import make_split
from tests.factories import names

from .export_helpers import attach_dicom, rate, rate_everything

pytestmark = pytest.mark.django_db


@pytest.fixture
def rated(study, people):
    for i, image in enumerate(study.images.order_by("pk")):
        attach_dicom(image, settings.MEDIA_ROOT, "CT_small.dcm" if i % 2 else "MR_small.dcm")
    rate_everything(study, [people[names.RATER], people[names.RATER2]])
    return study


def _zip(path) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(open(path, "rb").read()))


def _release_job(study, user, **params):
    job = jobs.create_export(study, ExportKind.RELEASE, params, user)
    jobs.run_export_job(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    return job


def test_release_zip_checksums_verify_and_hold_the_de_identified_files(rated, people):
    job = _release_job(rated, people[names.COORDINATOR])
    archive = _zip(jobs.file_path(job))
    root = archive.namelist()[0].split("/")[0]
    listed = archive.read(f"{root}/SHA256SUMS").decode().splitlines()
    names_in_zip = {n.split("/", 1)[1] for n in archive.namelist()} - {"SHA256SUMS"}
    assert {line.split("  ", 1)[1] for line in listed} == names_in_zip
    for line in listed:
        digest, name = line.split("  ", 1)
        assert hashlib.sha256(archive.read(f"{root}/{name}")).hexdigest() == digest
    first = rated.images.order_by("pk").first()
    original = (settings.MEDIA_ROOT / first.files.get().file.name).read_bytes()
    assert archive.read(f"{root}/images/{first.label.lower()}/0001.dcm") == original
    assert hashlib.sha256(jobs.file_path(job).read_bytes()).hexdigest() == job.sha256


def test_labels_and_data_card_carry_mos_majority_and_pseudonyms_only(rated, people):
    job = _release_job(rated, people[names.COORDINATOR])
    archive = _zip(jobs.file_path(job))
    root = archive.namelist()[0].split("/")[0]
    labels = list(csv.DictReader(io.StringIO(archive.read(f"{root}/labels.csv").decode())))
    assert len(labels) == 3
    assert {"gray-level_mos", "gray-level_ci95_low", "acceptable_majority"} <= set(labels[0])
    assert all(row["gray-level_n"] == "2" for row in labels)
    readme = archive.read(f"{root}/README.md").decode()
    assert "R-alice" in readme and "R-bob" in readme
    assert "pseudonym" in readme and "PS3.15" in readme
    everything = b"".join(archive.read(n) for n in archive.namelist() if not n.endswith(".dcm"))
    for username in ("alice@example.org", "carol", "dave"):
        assert username.encode() not in everything


def test_same_release_same_bytes_and_later_ratings_make_a_new_version(rated, people):
    job = _release_job(rated, people[names.COORDINATOR])
    release = DatasetRelease.objects.get(pk=job.release_id)
    first_bytes = release_zip_path(release).read_bytes()

    # Rebuilt from its snapshot (e.g. after the file was lost): identical bytes.
    release_zip_path(release).unlink()
    rebuilt = build_zip(release)
    assert rebuilt.sha256 == release.sha256
    assert release_zip_path(release).read_bytes() == first_bytes

    image = rated.images.order_by("pk").first()
    rate(rated, people[names.STAFF], image, {"gray-level": 10})
    second = _release_job(rated, people[names.COORDINATOR])
    assert DatasetRelease.objects.get(pk=second.release_id).version == 2
    assert second.sha256 != job.sha256
    assert release_zip_path(release).read_bytes() == first_bytes


def test_png_release_at_a_chosen_size(rated, people):
    job = _release_job(rated, people[names.COORDINATOR], image_format=ImageFormat.PNG, png_size=64)
    archive = _zip(jobs.file_path(job))
    pngs = [n for n in archive.namelist() if n.endswith(".png")]
    assert len(pngs) == 3
    for name in pngs:
        picture = PILImage.open(io.BytesIO(archive.read(name)))
        assert max(picture.size) == 64
    assert not [n for n in archive.namelist() if n.endswith(".dcm")]


def test_release_with_a_split_keeps_each_patient_in_one_subset(study, people):
    image = study.images.order_by("pk").first()
    # Two images of one patient.
    study.images.exclude(pk=image.pk).update(patient_key="P-shared")
    rate_everything(study, [people[names.RATER], people[names.RATER2]])
    split = make_split(
        study=study,
        ratios=(0.5, 0.25, 0.25),
        seed=3,
        stratify_by=StratifyBy.MOS_BINS,
        dimension="gray-level",
    )
    release = build_zip(create_release(study, split))
    archive = _zip(release_zip_path(release))
    root = archive.namelist()[0].split("/")[0]
    labels = list(csv.DictReader(io.StringIO(archive.read(f"{root}/labels.csv").decode())))
    subsets_of_patient = {}
    for row in labels:
        subsets_of_patient.setdefault(row["patient_key"], set()).add(row["split"])
    assert all(len(s) == 1 for s in subsets_of_patient.values())
    assert {row["split"] for row in labels} <= {"train", "val", "test"}
    assert "seed 3" in archive.read(f"{root}/README.md").decode()


def test_the_data_card_gives_both_iccs_and_old_snapshots_keep_their_bytes(rated, people):
    job = _release_job(rated, people[names.COORDINATOR])
    release = DatasetRelease.objects.get(pk=job.release_id)
    card = data_card(release)
    summary = release.snapshot["agreement_summary"]["gray-level"]
    reml = study_report(rated)["dimensions"]["gray-level"]["icc_reml"]["ICC2"]
    assert summary["icc_2_1_reml"] == reml["value"]
    assert "ICC(2,1) all ratings, REML" in card and f"{reml['value']:.3f}" in card
    assert f"({summary['icc_2_1_n_images']})" in card  # the complete-case image count

    # A release snapshot made before the REML ICC existed renders its table as it always did.
    for entry in release.snapshot["agreement_summary"].values():
        for key in ("icc_2_1_n_images", "icc_2_1_reml", "icc_2_1_reml_ci95"):
            del entry[key]
    old = data_card(release)
    assert "REML" not in old
    assert "| dimension | images | raters | ICC(2,1) [95% CI] | Krippendorff alpha |" in old
