"""Zip archives are read without unpacking; unsafe, damaged or oversized ones are refused."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

from imaging.dicom.errors import ErrorCode, FileError
from imaging.dicom.process import ProcessedFile, process_file
from imaging.dicom.sources import Source, ZipLimits, iter_sources
from tests.imaging.dicom.helpers import SECRET, data_file


def make_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def listed(path: Path, **kwargs) -> tuple[dict[str, Source], dict[str, FileError]]:
    sources, errors = {}, {}
    for item in iter_sources([path], **kwargs):
        (errors if isinstance(item, FileError) else sources)[item.name] = item
    return sources, errors


def test_entries_escaping_the_archive_are_refused_and_the_rest_kept(tmp_path):
    good = data_file("CT_small.dcm").read_bytes()
    archive = make_zip(
        tmp_path / "upload.zip",
        {
            "ok/CT_small.dcm": good,
            "../evil.dcm": good,
            "/etc/absolute.dcm": good,
            "a/../../up.dcm": good,
            "C:/windows.dcm": good,
            "a\\..\\..\\backslash.dcm": good,
        },
    )
    sources, errors = listed(archive)
    assert list(sources) == ["upload.zip!ok/CT_small.dcm"]
    assert len(errors) == 5
    assert {e.code for e in errors.values()} == {ErrorCode.ZIP_UNSAFE_PATH}
    assert "upload.zip!../evil.dcm" in errors
    assert not (tmp_path / "evil.dcm").exists()


def test_a_damaged_archive_is_refused_with_a_reason(tmp_path):
    garbage = tmp_path / "broken.zip"
    garbage.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    assert [e.code for e in listed(garbage)[1].values()] == [ErrorCode.ZIP_CORRUPT]

    real = make_zip(tmp_path / "real.zip", {"a.dcm": data_file("CT_small.dcm").read_bytes()})
    cut = tmp_path / "cut.zip"
    cut.write_bytes(real.read_bytes()[:-30])  # the central directory is at the end
    assert [e.code for e in listed(cut)[1].values()] == [ErrorCode.ZIP_CORRUPT]


def test_a_damaged_entry_is_a_per_file_error(tmp_path, out_dir):
    data = data_file("CT_small.dcm").read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("a.dcm", data)
        archive.writestr("b.dcm", data)
    raw = bytearray(buffer.getvalue())
    raw[100:110] = b"\xff" * 10  # inside a.dcm's stored bytes: its CRC no longer matches
    path = tmp_path / "crc.zip"
    path.write_bytes(bytes(raw))
    sources, _ = listed(path)
    results = [process_file(s, secret=SECRET, out_dir=out_dir) for s in sources.values()]
    assert isinstance(results[0], FileError) and results[0].code == ErrorCode.ZIP_CORRUPT
    assert isinstance(results[1], ProcessedFile)


def test_a_zip_bomb_is_refused_before_anything_is_unpacked(tmp_path):
    bomb = make_zip(tmp_path / "bomb.zip", {"huge.dcm": b"\x00" * (50 * 1024**2)})
    assert bomb.stat().st_size < 200_000
    _, errors = listed(bomb)
    assert [e.code for e in errors.values()] == [ErrorCode.ZIP_TOO_LARGE]
    assert "ratio" in errors["bomb.zip!huge.dcm"].detail

    many = make_zip(tmp_path / "many.zip", {f"{i}.dcm": b"x" * 1000 for i in range(20)})
    _, errors = listed(many, zip_limits=ZipLimits(max_total_bytes=10_000))
    assert [e.code for e in errors.values()] == [ErrorCode.ZIP_TOO_LARGE]
    _, errors = listed(many, zip_limits=ZipLimits(max_entries=5))
    assert [e.code for e in errors.values()] == [ErrorCode.ZIP_TOO_LARGE]


def test_encrypted_and_nested_archives_are_named(tmp_path):
    inner = make_zip(tmp_path / "inner.zip", {"a.dcm": b"data"}).read_bytes()
    archive = make_zip(tmp_path / "outer.zip", {"inner.zip": inner, "secret.dcm": b"x" * 100})
    raw = bytearray(archive.read_bytes())
    # Flip the "encrypted" flag of secret.dcm in the central directory (what listing reads).
    central = raw.rfind(b"PK\x01\x02")
    flags_at = central + 8
    struct.pack_into("<H", raw, flags_at, struct.unpack_from("<H", raw, flags_at)[0] | 1)
    archive.write_bytes(bytes(raw))
    _, errors = listed(archive)
    assert errors["outer.zip!inner.zip"].code == ErrorCode.ZIP_NESTED
    assert errors["outer.zip!secret.dcm"].code == ErrorCode.ZIP_ENCRYPTED
