"""process_file writes one complete de-identified file, reports what the database needs, and is
safe to run again; process_sources does the same in worker processes."""

from __future__ import annotations

import hashlib
import io
import pickle
import shutil
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from imaging.dicom.batch import process_sources
from imaging.dicom.errors import FileError
from imaging.dicom.process import ProcessedFile, process_file, sort_position
from imaging.dicom.sources import iter_sources
from tests.imaging.dicom.helpers import SECRET, data_file, read


def test_the_written_file_is_complete_named_by_the_new_uid_and_hashed(out_dir):
    result = process_file(data_file("CT_small.dcm"), secret=SECRET, out_dir=out_dir)
    assert isinstance(result, ProcessedFile)
    path = Path(result.path)
    assert path == (out_dir / result.relative_path).resolve()
    assert path.name == f"{result.sop_instance_uid}.dcm"
    data = path.read_bytes()
    assert len(data) == result.size_bytes
    assert hashlib.sha256(data).hexdigest() == result.sha256
    assert [p.name for p in out_dir.rglob("*") if p.is_file()] == [path.name], "no temp files"
    out = pydicom.dcmread(path)
    assert out.SOPInstanceUID == result.sop_instance_uid
    assert out.SeriesInstanceUID == result.series_uid
    assert out.StudyInstanceUID == result.study_uid
    assert path.stat().st_mode & 0o044 == 0o044, "readable by the web server"


def test_the_result_carries_what_the_database_needs(out_dir):
    result = process_file(data_file("CT_small.dcm"), secret=SECRET, out_dir=out_dir)
    assert isinstance(result, ProcessedFile)
    assert (result.rows, result.columns, result.n_frames) == (128, 128, 1)
    assert (result.bits_allocated, result.bits_stored, result.pixel_representation) == (16, 16, 1)
    assert result.photometric == "MONOCHROME2"
    assert result.transfer_syntax == "1.2.840.10008.1.2.1"
    assert (result.modality, result.manufacturer) == ("CT", "GE MEDICAL SYSTEMS")
    assert result.instance_number == 1
    assert result.sop_class_uid == "1.2.840.10008.5.1.4.1.1.2"
    assert len(result.patient_key) == len(result.source_uid_hash) == 64
    image = Image.open(io.BytesIO(result.thumbnail_png))
    assert image.size == (result.thumbnail_width, result.thumbnail_height) == (128, 128)
    assert pickle.loads(pickle.dumps(result)) == result


def test_sort_position_projects_the_position_on_the_slice_normal():
    ds = read("CT_small.dcm")  # axial: the normal is z
    assert sort_position(ds) == float(ds.ImagePositionPatient[2])
    ds.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]  # sagittal: row x column = -x
    assert sort_position(ds) == -float(ds.ImagePositionPatient[0])
    del ds.ImagePositionPatient
    assert sort_position(ds) == float(ds.SliceLocation)
    del ds.SliceLocation
    assert sort_position(ds) == 1.0  # InstanceNumber
    del ds.InstanceNumber
    assert sort_position(ds) == 0.0


def test_enhanced_multi_frame_position_comes_from_the_functional_groups():
    ds = read("eCT_Supplemental.dcm")
    assert "ImagePositionPatient" not in ds
    frame = ds.PerFrameFunctionalGroupsSequence[0]
    position = np.array(frame.PlanePositionSequence[0].ImagePositionPatient, dtype=float)
    groups = frame if "PlaneOrientationSequence" in frame else ds.SharedFunctionalGroupsSequence[0]
    orientation = np.array(groups.PlaneOrientationSequence[0].ImageOrientationPatient, float)
    normal = np.cross(orientation[:3], orientation[3:])
    assert sort_position(ds) == pytest.approx(position @ normal)


def test_running_again_reuses_the_identical_file(out_dir):
    first = process_file(data_file("MR_small.dcm"), secret=SECRET, out_dir=out_dir)
    again = process_file(data_file("MR_small.dcm"), secret=SECRET, out_dir=out_dir)
    assert isinstance(first, ProcessedFile) and isinstance(again, ProcessedFile)
    assert not first.reused_existing and again.reused_existing
    assert (again.path, again.sha256) == (first.path, first.sha256)
    assert len([p for p in out_dir.rglob("*") if p.is_file()]) == 1


def test_a_batch_in_worker_processes_matches_the_inline_run(tmp_path):
    folder = tmp_path / "upload"
    folder.mkdir()
    for name in (
        "CT_small.dcm",
        "MR_small.dcm",
        "emri_small.dcm",
        "rtdose_1frame.dcm",
        "rtplan.dcm",
    ):
        shutil.copy(data_file(name), folder / name)
    with zipfile.ZipFile(folder / "more.zip", "w") as zf:
        zf.write(data_file("JPEG2000.dcm"), "in/JPEG2000.dcm")
        zf.write(data_file("CT_small.dcm"), "in/CT_copy.dcm")  # a duplicate
    inline = list(
        process_sources(
            iter_sources([folder]),
            secret=SECRET,
            out_dir=tmp_path / "a",
            workers=1,
            allow_burned_in=True,
        )
    )
    pooled = list(
        process_sources(
            iter_sources([folder]),
            secret=SECRET,
            out_dir=tmp_path / "b",
            workers=2,
            allow_burned_in=True,
        )
    )

    def summary(results):
        return sorted(
            (r.name, r.code) if isinstance(r, FileError) else (r.name, r.sha256) for r in results
        )

    # Which copy of a duplicate comes first may differ; everything else is identical.
    assert len(inline) == len(pooled) == 7
    assert [s for s in summary(inline) if "CT" not in s[0]] == [
        s for s in summary(pooled) if "CT" not in s[0]
    ]
    assert sum(isinstance(r, ProcessedFile) for r in pooled) == 5


def test_reading_a_nonconformant_file_echoes_none_of_its_values(tmp_path, out_dir):
    """Invalid values in a source (an over-long StudyID, a UID that is no UID) must not reach
    the log through pydicom's warnings: the values are the patient's identifiers."""
    ds = read("CT_small.dcm")
    study_id = "ID-OF-PATIENT-" + "7" * 40  # SH allows 16 characters
    bad_uid = "9f2c" * 16  # hex, not a UID
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # writing the bad source is what we mean to do here
        ds.StudyID = study_id
        ds.FrameOfReferenceUID = bad_uid
        source = tmp_path / "bad.dcm"
        ds.save_as(source, enforce_file_format=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = process_file(source, secret=SECRET, out_dir=out_dir)
    assert isinstance(result, ProcessedFile)
    echoed = [
        str(w.message) for w in caught if study_id in str(w.message) or bad_uid in str(w.message)
    ]
    assert echoed == []
    out = pydicom.dcmread(result.path)
    assert out.FrameOfReferenceUID != bad_uid and out.FrameOfReferenceUID.is_valid
