"""Helpers for the DICOM layer tests: pydicom's own files, found offline, and small builders."""

from __future__ import annotations

import io
import os
from collections import defaultdict
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_files
from pydicom.dataset import Dataset

SECRET = b"test-project-secret"

# Filled by test_pydicom_corpus, printed at the end of the run by conftest.
CORPUS_CATEGORIES: dict[str, list[str]] = defaultdict(list)


def all_test_files() -> list[Path]:
    """Every file pydicom and pydicom-data ship (directories left out), in a stable order."""
    return sorted(Path(p) for p in get_testdata_files() if os.path.isfile(p))


def short_name(path: Path) -> str:
    """'test_files/CT_small.dcm' or 'data/RG1_UNCI.dcm': enough to find the file again."""
    return (
        "/".join(path.parts[path.parts.index("data") + 1 :]) if "data" in path.parts else path.name
    )


def _by_name() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in all_test_files():
        found.setdefault(path.name, path)
    return found


TESTDATA = _by_name()


def data_file(name: str) -> Path:
    """A pydicom test file by name, from the installed packages only (never downloaded)."""
    return TESTDATA[name]


def read(name: str) -> Dataset:
    return pydicom.dcmread(data_file(name))


def encode(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
