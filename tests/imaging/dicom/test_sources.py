"""Files, folders and zip archives become named sources; hidden files and DICOMDIR are skipped."""

from __future__ import annotations

import os
import pickle
import shutil
import zipfile
from pathlib import Path

from imaging.dicom.errors import ErrorCode, FileError
from imaging.dicom.sources import Source, iter_sources
from tests.imaging.dicom.helpers import data_file


def names(items) -> list[str]:
    return [item.name for item in items]


def test_a_folder_is_walked_recursively_in_order_skipping_hidden_and_dicomdir(tmp_path):
    """Sorted, a folder's own files before its subfolders (os.walk order: it streams)."""
    root = tmp_path / "batch1"
    for rel in ("b.dcm", "a/z.dcm", "a/deep/y.dcm", ".hidden.dcm", ".git/x.dcm", "DICOMDIR"):
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(data_file("CT_small.dcm"), target)
    items = list(iter_sources([root]))
    assert all(isinstance(item, Source) for item in items)
    assert names(items) == ["batch1/b.dcm", "batch1/a/z.dcm", "batch1/a/deep/y.dcm"]
    assert items[-1].read_bytes() == data_file("CT_small.dcm").read_bytes()
    assert items[-1].size == data_file("CT_small.dcm").stat().st_size


def test_a_single_file_is_named_by_its_file_name(tmp_path):
    items = list(iter_sources([data_file("MR_small.dcm")]))
    assert names(items) == ["MR_small.dcm"]


def test_zip_entries_keep_their_folders_in_the_name(tmp_path):
    ct = data_file("CT_small.dcm").read_bytes()
    archive = tmp_path / "study.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("patient/series 1/img1.dcm", ct)
        zf.writestr("patient/series 1/", b"")  # a folder entry
        zf.writestr("__MACOSX/patient/._img1.dcm", b"resource fork")
        zf.writestr("patient/.DS_Store", b"finder")
        zf.writestr("patient/DICOMDIR", b"index")
        zf.writestr("top.dcm", ct)
    items = list(iter_sources([archive]))
    assert names(items) == ["study.zip!patient/series 1/img1.dcm", "study.zip!top.dcm"]
    assert items[-1].read_bytes() == ct


def test_a_zip_is_recognised_by_content_inside_a_folder(tmp_path):
    folder = tmp_path / "upload"
    folder.mkdir()
    with zipfile.ZipFile(folder / "export.bin", "w") as zf:
        zf.writestr("x.dcm", data_file("CT_small.dcm").read_bytes())
    assert names(iter_sources([folder])) == ["upload/export.bin!x.dcm"]


def test_missing_input_is_a_per_item_error_not_an_exception(tmp_path):
    items = list(iter_sources([tmp_path / "nope", data_file("CT_small.dcm")]))
    assert isinstance(items[0], FileError) and items[0].code == ErrorCode.UNREADABLE
    assert isinstance(items[1], Source)


def test_sources_and_errors_pickle_for_worker_processes(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("x.dcm", data_file("CT_small.dcm").read_bytes())
    items = list(iter_sources([archive, tmp_path / "missing"]))
    copies = pickle.loads(pickle.dumps(items))
    assert copies == items
    assert copies[0].read_bytes() == items[0].read_bytes()
    assert Path(copies[0].path) == archive


def test_an_unlistable_subfolder_is_reported_by_its_relative_name(tmp_path, monkeypatch):
    root = tmp_path / "batch"
    locked = root / "locked"
    locked.mkdir(parents=True)
    shutil.copy(data_file("CT_small.dcm"), root / "a.dcm")
    real_walk = os.walk

    def walk_with_a_locked_folder(top, onerror=None, **kwargs):
        # chmod cannot lock root (tests may run as root): fail the listing as os.walk would.
        for folder, dirs, files in real_walk(top, onerror=onerror, **kwargs):
            if Path(folder) == locked:
                onerror(PermissionError(13, "Permission denied", str(locked)))
                continue
            yield folder, dirs, files

    monkeypatch.setattr("imaging.dicom.sources.os.walk", walk_with_a_locked_folder)
    items = list(iter_sources([root]))
    assert names(items) == ["batch/a.dcm", "batch/locked"]
    assert isinstance(items[1], FileError) and items[1].code == ErrorCode.UNREADABLE
