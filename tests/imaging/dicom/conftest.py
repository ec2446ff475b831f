"""Fixtures for the DICOM layer tests, and the corpus category summary printed after a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.imaging.dicom.helpers import CORPUS_CATEGORIES


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


def pytest_terminal_summary(terminalreporter) -> None:
    if not CORPUS_CATEGORIES:
        return
    write = terminalreporter.write_line
    terminalreporter.section("pydicom test files by outcome")
    for category, names in sorted(CORPUS_CATEGORIES.items(), key=lambda kv: -len(kv[1])):
        shown = ", ".join(sorted(names)[:6]) + (", ..." if len(names) > 6 else "")
        write(f"{category:28s} {len(names):4d}  {shown}")
