"""Importing DICOM into a dataset: real files, bad input reported per file, nothing doubled."""

import io
import zipfile
from pathlib import Path

import pydicom
import pydicom.data
import pytest
from pydicom.pixels import get_decoder

from imaging.ingest import ingest_paths
from imaging.models import Dataset, Image, ImageFile

TESTDATA = Path(pydicom.data.get_testdata_file("CT_small.dcm")).parent
# The reasons a pydicom test file may be refused, besides a duplicate of an imported instance.
REFUSAL_REASONS = {
    "not_dicom", "missing_file_meta", "truncated", "corrupt", "no_pixel_data",
    "unsupported_transfer_syntax", "undecodable_pixels", "unsupported_photometric",
}  # fmt: skip


@pytest.fixture
def dataset(db):
    return Dataset.objects.create(name="import-target")


def _outcomes(report):
    return {o.name.split("/", 1)[-1]: o for o in report.outcomes}


def test_every_pydicom_test_file_is_imported_or_refused_with_a_reason(dataset):
    report = ingest_paths(dataset, [TESTDATA], workers=2, allow_burned_in=True)
    imported = [o for o in report.outcomes if o.status == "imported"]
    skipped = [o for o in report.outcomes if o.status == "skipped"]
    assert len(imported) > 40
    assert {o.reason_code for o in skipped} <= REFUSAL_REASONS | {"duplicate"}
    assert all(o.reason for o in skipped), "every refusal says why"
    assert ImageFile.objects.filter(dataset=dataset).count() == len(imported)
    # Every stored file is really there and readable, de-identified.
    for image_file in ImageFile.objects.filter(dataset=dataset)[:20]:
        ds = pydicom.dcmread(image_file.file.path)
        assert ds.PatientIdentityRemoved == "YES"


@pytest.mark.parametrize(
    "name",
    [
        "CT_small.dcm",  # signed, rescaled (HU)
        "MR_small.dcm",
        "MR_small_RLE.dcm",
        "MR_small_jp2klossless.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "JPEG2000.dcm",
        "SC_rgb_jpeg_gdcm.dcm",
        "emri_small.dcm",  # multi-frame
        "US1_J2KR.dcm",
    ],
)
def test_each_decodable_transfer_syntax_is_imported(db, name):
    path = pydicom.data.get_testdata_file(name)
    transfer_syntax = pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID
    assert get_decoder(transfer_syntax).is_available, f"no decoder installed for {name}"
    dataset = Dataset.objects.create(name=f"ts-{name}")
    report = ingest_paths(dataset, [path], workers=1, allow_burned_in=True)
    assert [o.status for o in report.outcomes] == ["imported"], report.outcomes[0].reason
    image = Image.objects.get(dataset=dataset)
    stored = ImageFile.objects.get(image=image)
    assert stored.transfer_syntax == str(transfer_syntax)
    assert (
        image.thumbnail.name and Path(image.thumbnail.path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    )
    assert image.n_frames == int(pydicom.dcmread(path).get("NumberOfFrames", 1) or 1)


def _bad_inputs(tmp_path: Path) -> dict[str, Path]:
    good = Path(pydicom.data.get_testdata_file("CT_small.dcm"))
    files = {}
    files["not_dicom"] = tmp_path / "notes.txt"
    files["not_dicom"].write_text("this is a referral letter, not an image")
    files["truncated"] = tmp_path / "truncated.dcm"
    files["truncated"].write_bytes(good.read_bytes()[:-3000])
    no_pixels = pydicom.dcmread(good)
    del no_pixels.PixelData
    files["no_pixel_data"] = tmp_path / "no_pixels.dcm"
    no_pixels.save_as(files["no_pixel_data"])
    unknown_ts = pydicom.dcmread(pydicom.data.get_testdata_file("MR_small_RLE.dcm"))
    unknown_ts.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG2: no decoder
    files["unsupported_transfer_syntax"] = tmp_path / "mpeg.dcm"
    unknown_ts.save_as(files["unsupported_transfer_syntax"], enforce_file_format=True)
    files["good"] = tmp_path / "good.dcm"
    files["good"].write_bytes(good.read_bytes())
    files["duplicate"] = tmp_path / "good-copy.dcm"
    files["duplicate"].write_bytes(good.read_bytes())
    return files


def test_bad_files_are_reported_and_the_good_ones_imported(dataset, tmp_path):
    files = _bad_inputs(tmp_path)
    report = ingest_paths(dataset, [tmp_path], workers=1)
    by_name = {Path(o.name).name: o for o in report.outcomes}
    for expected, path in files.items():
        outcome = by_name[path.name]
        if expected in ("good", "duplicate"):
            # One of the two identical files is imported, the other refused as a duplicate.
            pair = sorted(by_name[n].status for n in ("good.dcm", "good-copy.dcm"))
            assert pair == ["imported", "skipped"]
            reasons = {by_name[n].reason_code for n in ("good.dcm", "good-copy.dcm")}
            assert reasons == {"", "duplicate"}
        else:
            assert (outcome.status, outcome.reason_code) == ("skipped", expected), outcome.reason
    assert ImageFile.objects.filter(dataset=dataset).count() == 1
    staging = list((Path(dataset_media(dataset))).glob(".staging-*"))
    assert staging == [], "nothing half-written stays behind"


def dataset_media(dataset) -> Path:
    from django.conf import settings

    return Path(settings.MEDIA_ROOT) / "dicom" / f"ds{dataset.pk}"


def test_importing_the_same_files_again_doubles_nothing(dataset):
    files = [pydicom.data.get_testdata_file(n) for n in ("CT_small.dcm", "MR_small.dcm")]
    first = ingest_paths(dataset, files, workers=1)
    second = ingest_paths(dataset, files, workers=1)
    assert first.n_imported == 2
    assert second.n_imported == 0
    assert {o.reason_code for o in second.outcomes} == {"duplicate"}
    assert ImageFile.objects.filter(dataset=dataset).count() == 2
    assert Image.objects.filter(dataset=dataset).count() == 2
    for image_file in ImageFile.objects.filter(dataset=dataset):
        assert Path(image_file.file.path).exists(), "the refused re-import removed nothing"


def test_zip_archives_are_unpacked_and_bad_members_reported(dataset, tmp_path):
    archive = tmp_path / "batch.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(pydicom.data.get_testdata_file("CT_small.dcm"), "exam/ct.dcm")
        zf.writestr("exam/readme.txt", "not an image")
        zf.writestr("../../escape.dcm", b"\0" * 200)
    report = ingest_paths(dataset, [archive], workers=1)
    statuses = sorted((o.status, o.reason_code) for o in report.outcomes)
    assert ("imported", "") in statuses
    assert ("skipped", "not_dicom") in statuses
    assert ("skipped", "zip_unsafe_path") in statuses
    assert not (tmp_path.parent / "escape.dcm").exists()


def test_a_corrupt_zip_is_refused_with_a_reason(dataset, tmp_path):
    archive = tmp_path / "broken.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("a.dcm", b"x" * 5000)
    archive.write_bytes(buffer.getvalue()[:-40])
    report = ingest_paths(dataset, [archive], workers=1)
    assert [o.reason_code for o in report.outcomes] == ["zip_corrupt"]


def test_files_of_one_series_become_one_stack_in_order(dataset, tmp_path):
    source = pydicom.dcmread(pydicom.data.get_testdata_file("CT_small.dcm"))
    for z in (3, 1, 2):  # written out of order on purpose
        ds = source.copy()
        ds.SOPInstanceUID = f"{source.SOPInstanceUID}.{z}"
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = z
        ds.ImagePositionPatient = [0, 0, float(z) * 5]
        ds.save_as(tmp_path / f"slice-{z}.dcm")
    report = ingest_paths(dataset, [tmp_path], workers=1)
    assert report.n_imported == 3
    image = Image.objects.get(dataset=dataset)
    assert image.n_frames == 3
    assert list(image.files.values_list("instance_number", flat=True)) == [1, 2, 3]
