"""A DICOM and zip fuzz corpus built at test time from a few of pydicom's own files.

Nothing binary is committed: every case is derived, deterministically (seeded), from
pydicom's test files. `build_corpus(folder)` writes the files and returns their names by
family, so a test can say which family a refusal came from.
"""

from __future__ import annotations

import io
import random
import stat
import struct
import warnings
import zipfile
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence

from tests.imaging.dicom.helpers import data_file, encode

BASES = ("CT_small.dcm", "MR_small.dcm", "SC_rgb_rle.dcm")
SEED = 20261202
PIXEL_DATA_TAG = b"\xe0\x7f\x10\x00"  # (7FE0,0010), little endian
HUGE_LENGTH = 0xFFFFFFF0


def _explicit_le(name: str) -> bytes:
    """The base file re-encoded as explicit VR little endian (so byte patches know the layout)."""
    ds = pydicom.dcmread(data_file(name))
    if not ds.file_meta.TransferSyntaxUID.is_compressed:
        ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    return encode(ds)


def truncations(base: bytes, n: int = 14) -> list[bytes]:
    """Cuts in the preamble, at 'DICM', inside the file meta, the dataset and the pixel data."""
    pixel = base.find(PIXEL_DATA_TAG)
    fixed = {0, 1, 64, 128, 130, 132, 136, 150, 200, pixel, pixel + 4, pixel + 8, pixel + 12}
    step = max(len(base) // n, 1)
    return [base[:cut] for cut in sorted(fixed | set(range(step, len(base), step))) if cut >= 0]


def bit_flips(base: bytes, rng: random.Random, n: int = 12) -> list[bytes]:
    """Copies with 1 to 16 random bits flipped, after the preamble (flips in it are no-ops)."""
    out = []
    for _ in range(n):
        data = bytearray(base)
        for _ in range(rng.randint(1, 16)):
            at = rng.randrange(128, len(data))
            data[at] ^= 1 << rng.randrange(8)
        out.append(bytes(data))
    return out


def _with(name: str, **attributes) -> bytes:
    ds = pydicom.dcmread(data_file(name))
    for key, value in attributes.items():
        setattr(ds, key, value)
    return encode(ds)


def huge_declarations(base_name: str, base: bytes) -> dict[str, bytes]:
    """Sizes the file declares but does not have: it must not make us allocate them."""
    cases = {
        "rows-cols-65535": _with(base_name, Rows=65535, Columns=65535),
        "frames-2e9": _with(base_name, NumberOfFrames=2_000_000_000),
        "frames-65535-rows-cols-65535": _with(
            base_name, Rows=65535, Columns=65535, NumberOfFrames=65535
        ),
        "bits-allocated-64": _with(base_name, BitsAllocated=64, BitsStored=64, HighBit=63),
        "samples-65535": _with(base_name, SamplesPerPixel=65535),
    }
    tiny = pydicom.dcmread(data_file(base_name))
    tiny.Rows, tiny.Columns = 65535, 65535
    tiny.PixelData = b"\x00" * 16
    if tiny.file_meta.TransferSyntaxUID.is_compressed:
        tiny.PixelData = encapsulate([b"\x00" * 16])
    cases["rows-cols-65535-tiny-pixels"] = encode(tiny)
    # The pixel data's 4-byte length (explicit VR OW/OB: tag, VR, 2 reserved, length).
    pixel = base.find(PIXEL_DATA_TAG)
    length_at = pixel + 8
    cases["pixel-length-fffffff0"] = (
        base[:length_at] + struct.pack("<I", HUGE_LENGTH) + base[length_at + 4 :]
    )
    # The first dataset element after the file meta, its length made huge (2 or 4 bytes).
    meta_end = 132 + 12 + struct.unpack_from("<I", base, 140)[0]
    vr = base[meta_end + 4 : meta_end + 6]
    if vr in (b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN", b"UC", b"UR", b"OD", b"OL", b"OV"):
        at, packed = meta_end + 8, struct.pack("<I", HUGE_LENGTH)
    else:
        at, packed = meta_end + 6, struct.pack("<H", 0xFFFF)
    cases["first-element-length-huge"] = base[:at] + packed + base[at + len(packed) :]
    # The file meta's own group length.
    cases["meta-group-length-huge"] = base[:140] + struct.pack("<I", HUGE_LENGTH) + base[144:]
    return cases


def bad_vrs(base: bytes) -> dict[str, bytes]:
    """The VR of the first dataset element and of the pixel data replaced by nonsense."""
    meta_end = 132 + 12 + struct.unpack_from("<I", base, 140)[0]
    pixel = base.find(PIXEL_DATA_TAG)
    cases = {}
    for label, at in (("first", meta_end + 4), ("pixels", pixel + 4)):
        for vr, tag in ((b"ZZ", "ZZ"), (b"\x00\x00", "nul"), (b"SQ", "SQ"), (b"UN", "UN")):
            cases[f"vr-{label}-{tag}"] = base[:at] + vr + base[at + 2 :]
    return cases


def _element(tag: tuple[int, int], vr: bytes, value: bytes, undefined: bool = False) -> bytes:
    length = 0xFFFFFFFF if undefined else len(value)
    return struct.pack("<HH", *tag) + vr + b"\x00\x00" + struct.pack("<I", length) + value


ITEM = struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
ITEM_END = struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
SEQ_END = struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
NESTED_TAG = (0x0040, 0x0275)  # Request Attributes Sequence: a real SQ, sorted before pixels


def _insert_before_pixels(base: bytes, element: bytes) -> bytes:
    pixel = base.find(PIXEL_DATA_TAG)
    # Elements must stay in tag order; (0040,0275) belongs before group 0x7FE0 but after the
    # groups a small file has - good enough for a reader, which is what is being tried.
    return base[:pixel] + element + base[pixel:]


def nested_sequences(base: bytes) -> dict[str, bytes]:
    """Sequences nested deep (with and without delimiters), and via pydicom itself."""
    cases = {}
    for depth in (50, 2_000, 20_000):
        body = b""
        for _ in range(depth):
            body = _element(NESTED_TAG, b"SQ", ITEM + body + ITEM_END, undefined=True) + SEQ_END
        cases[f"nested-undefined-{depth}"] = _insert_before_pixels(base, body)
    # Undefined-length sequence and items that are never closed: the file just ends.
    open_items = _element(NESTED_TAG, b"SQ", ITEM * 3, undefined=True)
    cases["undefined-items-no-delimiters"] = _insert_before_pixels(base, open_items)
    cases["undefined-items-at-eof"] = base + _element((0x7FE1, 0x0010), b"SQ", ITEM, True) + ITEM
    # A delimiter where no sequence is open, and an item with a huge defined length.
    cases["stray-delimiters"] = _insert_before_pixels(base, SEQ_END + ITEM_END)
    huge_item = struct.pack("<HHI", 0xFFFE, 0xE000, HUGE_LENGTH)
    cases["item-length-huge"] = _insert_before_pixels(
        base, _element(NESTED_TAG, b"SQ", huge_item, undefined=True)
    )
    return cases


def pydicom_nested(name: str, depth: int = 60) -> bytes:
    ds = pydicom.dcmread(data_file(name))
    inner = Dataset()
    inner.PatientName = "Inner^Most"
    for _ in range(depth):
        outer = Dataset()
        outer.RequestAttributesSequence = Sequence([inner])
        inner = outer
    ds.RequestAttributesSequence = inner.RequestAttributesSequence
    return encode(ds)


def _zip_bytes(entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in entries:
            archive.writestr(info, data)
    return buffer.getvalue()


def _patch_all(data: bytes, signature: bytes, offset: int, fmt: str, value: int) -> bytes:
    """Set a field in every local header or central directory record with this signature."""
    out = bytearray(data)
    at = out.find(signature)
    while at != -1:
        struct.pack_into(fmt, out, at + offset, value)
        at = out.find(signature, at + 4)
    return bytes(out)


LOCAL = b"PK\x03\x04"
CENTRAL = b"PK\x01\x02"


def zip_tricks(dicom: bytes, other: bytes) -> dict[str, bytes]:
    """Archives that try path escapes, links, duplicates, lies about sizes, encryption."""
    plain = _zip_bytes([("scan/a.dcm", dicom), ("scan/b.dcm", other)])
    link = zipfile.ZipInfo("scan/link.dcm")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    cases = {
        "plain.zip": plain,
        "zip-in-zip.zip": _zip_bytes([("inner.zip", plain), ("c.dcm", dicom)]),
        "zip-in-zip-renamed.zip": _zip_bytes([("inner.dcm", plain)]),
        "absolute-path.zip": _zip_bytes([("/etc/evil.dcm", dicom), ("ok.dcm", other)]),
        "dotdot-path.zip": _zip_bytes([("../../evil.dcm", dicom), ("a/../../b.dcm", dicom)]),
        "windows-path.zip": _zip_bytes([("C:\\evil.dcm", dicom), ("..\\..\\evil2.dcm", dicom)]),
        "symlink.zip": _zip_bytes([(link, b"/etc/passwd"), ("ok.dcm", dicom)]),
        "symlink-to-dicom.zip": _zip_bytes([(link, b"../../CT_small.dcm")]),
        "empty.zip": _zip_bytes([]),
        "only-dirs.zip": _zip_bytes([("a/", b""), ("a/b/", b"")]),
    }
    with_duplicates = io.BytesIO()
    with zipfile.ZipFile(with_duplicates, "w") as archive:
        archive.writestr("same.dcm", dicom)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Duplicate name": the point of the case
            archive.writestr("same.dcm", other)
    cases["duplicate-names.zip"] = with_duplicates.getvalue()
    # An entry whose headers claim 4 GiB - 16 bytes uncompressed (local and central).
    huge = _patch_all(plain, CENTRAL, 24, "<I", HUGE_LENGTH)
    cases["claims-huge-size.zip"] = _patch_all(huge, LOCAL, 22, "<I", HUGE_LENGTH)
    cases["claims-huge-size-central-only.zip"] = huge
    # A claimed size smaller than the data (the reader must stop, not trust it).
    cases["claims-tiny-size.zip"] = _patch_all(
        _patch_all(plain, CENTRAL, 24, "<I", 10), LOCAL, 22, "<I", 10
    )
    # The encryption flag set (general purpose bit 0), in both headers.
    encrypted = _patch_all(plain, CENTRAL, 8, "<H", 0x1)
    cases["encrypted.zip"] = _patch_all(encrypted, LOCAL, 6, "<H", 0x1)
    cases["encrypted-local-only.zip"] = _patch_all(plain, LOCAL, 6, "<H", 0x1)
    # Truncated: the end of central directory gone, then half the central directory.
    central = plain.find(CENTRAL)
    cases["truncated-eocd.zip"] = plain[:-10]
    cases["truncated-central.zip"] = plain[: central + (len(plain) - central) // 2]
    cases["truncated-data.zip"] = plain[: len(plain) // 3]
    # A bad CRC and an unknown compression method.
    cases["bad-crc.zip"] = _patch_all(plain, CENTRAL, 16, "<I", 0xDEADBEEF)
    cases["unknown-method.zip"] = _patch_all(
        _patch_all(plain, CENTRAL, 10, "<H", 99), LOCAL, 8, "<H", 99
    )
    return cases


def build_corpus(folder: Path) -> dict[str, list[str]]:
    """Write the corpus into `folder`; answer {family: [file names]}."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    families: dict[str, dict[str, bytes]] = {
        "truncation": {},
        "bit_flip": {},
        "huge_size": {},
        "bad_vr": {},
        "nested": {},
        "zip": {},
    }
    for name in BASES:
        stem = Path(name).stem
        base = _explicit_le(name)
        for i, data in enumerate(truncations(base)):
            families["truncation"][f"trunc-{stem}-{i:02d}.dcm"] = data
        for i, data in enumerate(bit_flips(base, rng)):
            families["bit_flip"][f"flip-{stem}-{i:02d}.dcm"] = data
        for label, data in huge_declarations(name, base).items():
            families["huge_size"][f"huge-{stem}-{label}.dcm"] = data
        for label, data in bad_vrs(base).items():
            families["bad_vr"][f"{label}-{stem}.dcm"] = data
    ct = _explicit_le("CT_small.dcm")
    for label, data in nested_sequences(ct).items():
        families["nested"][f"{label}.dcm"] = data
    families["nested"]["nested-pydicom-60.dcm"] = pydicom_nested("CT_small.dcm")
    for label, data in zip_tricks(ct, _explicit_le("MR_small.dcm")).items():
        families["zip"][label] = data
    names: dict[str, list[str]] = {}
    for family, files in families.items():
        for file_name, data in files.items():
            (folder / file_name).write_bytes(data)
        names[family] = sorted(files)
    return names
