"""De-identify a pydicom Dataset with the PS3.15 Basic Profile and derive pseudonymous keys."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass

from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID

from imaging.dicom.basic_profile import table_action

METHOD_TEXT = "DICOM PS3.15 E.1 Basic Profile; keyed UIDs"
# PS3.16 CID 7050: 113100 = Basic Application Confidentiality Profile.
METHOD_CODE = ("113100", "DCM", "Basic Application Confidentiality Profile")

# UIDs of the DICOM standard itself (SOP classes, transfer syntaxes, coding schemes)
# identify no one and must stay, or the file stops meaning what it is.
WELL_KNOWN_UID_ROOT = "1.2.840.10008."
# Class-like UIDs that are not in Table E.1-1 and must never be replaced, even when private.
KEPT_UID_KEYWORDS = frozenset(
    {
        "SOPClassUID",
        "ReferencedSOPClassUID",
        "MediaStorageSOPClassUID",
        "TransferSyntaxUID",
        "CodingSchemeUID",
        "ContextGroupExtensionCreatorUID",
        "MappingResourceUID",
        "RelatedGeneralSOPClassUID",
        "OriginalSpecializedSOPClassUID",
    }
)

# Beyond the table (which keeps what it does not list), values of these VRs are personal
# data or free text more often than not; removing or blanking them costs analyses nothing.
FREE_TEXT_VRS = frozenset({"LT", "ST", "UT"})
DATE_TIME_VRS = frozenset({"DA", "DT", "TM"})

DUMMY_BY_VR: dict[str, object] = {
    "AE": "ANONYMIZED",
    "AS": "000Y",
    "CS": "ANONYMIZED",
    "DA": "19000101",
    "DS": "0",
    "DT": "19000101000000",
    "IS": "0",
    "LO": "ANONYMIZED",
    "LT": "ANONYMIZED",
    "PN": "ANONYMIZED",
    "SH": "ANONYMIZED",
    "ST": "ANONYMIZED",
    "TM": "000000",
    "UC": "ANONYMIZED",
    "UT": "ANONYMIZED",
    "FL": 0.0,
    "FD": 0.0,
    "SL": 0,
    "SS": 0,
    "UL": 0,
    "US": 0,
}

_AGE_RE = re.compile(r"^\s*(\d{1,3})\s*([DWMY])\s*$")


@dataclass(frozen=True, slots=True)
class Deidentified:
    """What de-identification derived from the original values; nothing here identifies."""

    sop_instance_uid: str
    series_uid: str
    study_uid: str
    source_uid_hash: str  # keyed hash of the original SOP Instance UID (duplicate finder)
    patient_key: str
    patient_key_source: str  # "patient_id", "name_birth_date" or "study"
    site_key: str  # "" when neither InstitutionName nor StationName is present
    patient_sex: str  # "M", "F", "O" or ""
    age_band: str  # "0-9" ... "80-89", "90+", or ""


def keyed_hash(secret: bytes, domain: str, *parts: str) -> str:
    """HMAC-SHA256 hex of parts under a domain label, so keys of different kinds never collide."""
    message = "\x1f".join((domain, *parts)).encode("utf-8", "surrogateescape")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def replace_uid(uid: str, secret: bytes) -> str:
    """A deterministic 2.25 UID for `uid`: same input and secret, same output (PS3.5 B.2).

    The 128 HMAC bits are shaped as an RFC 9562 version-8 UUID so the integer is a valid
    UUID-derived UID; 2.25 plus at most 39 digits stays under the 64-character limit.
    """
    digest = bytearray(
        hmac.new(secret, b"uid\x1f" + uid.strip().encode("ascii", "replace"), "sha256").digest()
    )[:16]
    digest[6] = (digest[6] & 0x0F) | 0x80
    digest[8] = (digest[8] & 0x3F) | 0x80
    return f"2.25.{int.from_bytes(digest, 'big')}"


def deidentify(ds: Dataset, secret: bytes) -> Deidentified:
    """Apply the Basic Profile to `ds` in place (all nesting levels and file meta).

    Keys are derived from the original values first; then Table E.1-1 actions run, private
    attributes go, every non-standard UID is replaced by `replace_uid`, and the profile's
    markers (PatientIdentityRemoved, DeidentificationMethod[CodeSequence]) are set.
    """
    if not secret:
        raise ValueError("a non-empty secret is required")
    original_sop = str(ds.get("SOPInstanceUID", "") or "").strip()
    if not original_sop:
        raise ValueError("the dataset has no SOP Instance UID")
    derived = _derive(ds, secret, original_sop)
    _clean(ds, secret)
    # A file missing Series/Study UIDs still needs them: one per instance, deterministic.
    ds.SeriesInstanceUID = derived.series_uid
    ds.StudyInstanceUID = derived.study_uid
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = METHOD_TEXT
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = METHOD_CODE
    ds.DeidentificationMethodCodeSequence = Sequence([code])
    ds.file_meta = _new_file_meta(ds)
    return derived


def _derive(ds: Dataset, secret: bytes, original_sop: str) -> Deidentified:
    series = _text(ds, "SeriesInstanceUID") or f"series-of:{original_sop}"
    study = _text(ds, "StudyInstanceUID") or f"study-of:{original_sop}"
    key, key_source = _patient_key(ds, secret, study)
    site = _text(ds, "InstitutionName") or _text(ds, "StationName")
    sex = _text(ds, "PatientSex").upper()
    return Deidentified(
        sop_instance_uid=replace_uid(original_sop, secret),
        series_uid=replace_uid(series, secret),
        study_uid=replace_uid(study, secret),
        source_uid_hash=keyed_hash(secret, "sop-instance-uid", original_sop),
        patient_key=key,
        patient_key_source=key_source,
        site_key=keyed_hash(secret, "site", " ".join(site.casefold().split())) if site else "",
        patient_sex=sex if sex in {"M", "F", "O"} else "",
        age_band=age_band(ds),
    )


def _patient_key(ds: Dataset, secret: bytes, study_uid: str) -> tuple[str, str]:
    patient_id = _text(ds, "PatientID")
    if patient_id:
        issuer = _text(ds, "IssuerOfPatientID")
        return keyed_hash(secret, "patient-id", issuer, patient_id), "patient_id"
    name, birth = _text(ds, "PatientName"), _text(ds, "PatientBirthDate")
    if name and birth:
        return keyed_hash(secret, "patient-name", name.casefold(), birth), "name_birth_date"
    # Without any identity every study stands alone: splits may then leak a patient
    # across sets, which the caller can see from patient_key_source.
    return keyed_hash(secret, "patient-study", study_uid), "study"


def age_band(ds: Dataset) -> str:
    """Decade band of the patient's age at the study ("40-49"; "90+" caps, as HIPAA asks)."""
    years = _age_years(ds)
    if years is None or years < 0 or years > 150:
        return ""
    if years >= 90:
        return "90+"
    low = int(years) // 10 * 10
    return f"{low}-{low + 9}"


def _age_years(ds: Dataset) -> float | None:
    match = _AGE_RE.match(_text(ds, "PatientAge"))
    if match:
        value, unit = int(match.group(1)), match.group(2)
        return value / {"D": 365.25, "W": 52.18, "M": 12.0, "Y": 1.0}[unit]
    birth = _date(_text(ds, "PatientBirthDate"))
    if birth is None:
        return None
    for keyword in ("StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate"):
        seen = _date(_text(ds, keyword))
        if seen is not None:
            had_birthday = (seen.month, seen.day) >= (birth.month, birth.day)
            return seen.year - birth.year - (0 if had_birthday else 1)
    return None


def _date(value: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(value[:8], "%Y%m%d").date()
    except ValueError:
        return None


def _text(ds: Dataset, keyword: str) -> str:
    try:
        value = ds.get(keyword)
    except Exception:  # a malformed value must not stop de-identification
        return ""
    if value is None:
        return ""
    if isinstance(value, list | tuple):  # multi-valued: the first value is the primary one
        value = value[0] if value else ""
    return str(value).strip()


def _vr(ds: Dataset, tag: int) -> str:
    vr = ds.get_item(tag).VR
    if vr and vr != "UN":
        return vr
    # Implicit VR gives None, and explicit files may carry a known attribute as UN (as
    # pydicom's rtdose_rle.dcm does with a sequence of UIDs): the dictionary says what it is.
    try:
        return dictionary_VR(tag)
    except KeyError:
        return "UN"


def _resolve(action: str, vr: str) -> str:
    """One concrete action from a Table E.1-1 entry (see the module notes in basic_profile)."""
    if vr == "SQ":
        if "U*" in action or action == "D":
            return "RECURSE"  # keep the items, de-identify what is inside them
        if "Z" in action:
            return "Z"  # an empty sequence satisfies Type 2 and Type 3 alike
        return "X"
    # Without per-IOD Type tables, pick the choice that is valid for every Type it allows:
    # D (dummy) satisfies Type 1, Z (empty) satisfies Type 2.
    for choice in ("D", "Z", "X", "U", "K"):
        if choice in action:
            return choice
    return "K"


def _fallback(vr: str) -> str:
    """Rules for public attributes that Table E.1-1 does not list."""
    if vr == "PN":
        return "Z"
    if vr == "UI":
        return "U"
    if vr in DATE_TIME_VRS:
        return "Z"
    if vr in FREE_TEXT_VRS or vr == "AE":
        return "X"
    if vr == "UN":
        return "X"  # opaque bytes of an attribute nobody knows: nothing can vouch for them
    if vr == "SQ":
        return "RECURSE"
    return "K"


def _clean(ds: Dataset, secret: bytes) -> None:
    for tag in list(ds.keys()):
        group, element = tag >> 16, tag & 0xFFFF
        # Private attributes: X in the Basic Profile (no Retain Safe Private option here).
        # Group lengths are retired and would be wrong after the edits.
        if group % 2 == 1 or element == 0 or group == 0x0002:
            del ds[tag]
            continue
        vr = _vr(ds, tag)
        listed = table_action(tag)
        action = _resolve(listed, vr) if listed is not None else _fallback(vr)
        if action == "K":
            continue
        if action == "X":
            del ds[tag]
        elif action == "RECURSE":
            for item in ds[tag].value or []:
                _clean(item, secret)
        elif action == "Z":
            ds[tag].value = Sequence() if vr == "SQ" else None
        elif action == "D":
            ds[tag].value = DUMMY_BY_VR.get(vr)
        elif action == "U":
            elem = ds[tag]
            if elem.keyword in KEPT_UID_KEYWORDS:
                continue
            elem.value = _replace_uid_value(elem.value, secret)


def _replace_uid_value(value: object, secret: bytes) -> object:
    if value is None:
        return None
    if isinstance(value, str):
        return _map_uid(value, secret) if value else value
    return [_map_uid(str(v), secret) for v in value]  # multi-valued, e.g. UID lists


def _map_uid(uid: str, secret: bytes) -> str:
    return uid if uid.startswith(WELL_KNOWN_UID_ROOT) else replace_uid(uid, secret)


def _new_file_meta(ds: Dataset) -> FileMetaDataset:
    """Fresh file meta: the original's source AE title and private info must not survive."""
    old = getattr(ds, "file_meta", None)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    if old is not None and "TransferSyntaxUID" in old:
        meta.TransferSyntaxUID = old.TransferSyntaxUID
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    return meta
