"""Realistic fake patients, staff and sites, so de-identification has something to remove."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np


def _words(text: str) -> tuple[str, ...]:
    """Split a block of space-separated words (keeps long name lists readable)."""
    return tuple(text.split())


# Invented people: common given and family names combined at random; no real record is copied.
_FAMILY = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Thompson White Harris "
    "Clark Lewis Walker Hall Allen Young King Wright Scott Green Baker Adams Nelson Hill "
    "Campbell Mitchell Roberts Carter Phillips Evans Turner Torres Parker Collins Edwards "
    "Stewart Morris Murphy Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Schmidt Muller "
    "Fischer Weber Meyer Wagner Rossi Russo Ferrari Esposito Bianchi Dubois Moreau "
    "Laurent Simon Michel Nakamura Tanaka"
)
_GIVEN = {
    "F": _words(
        "Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Nancy "
        "Lisa Margaret Sandra Ashley Emily Donna Michelle Carol Amanda Melissa Deborah "
        "Laura Helen Anna Maria Sofia Claire Julia Mei Ling Yuki Ingrid Chiara Amelie "
        "Rosa"
    ),
    "M": _words(
        "James Robert John Michael David William Richard Joseph Thomas Charles "
        "Christopher Daniel Matthew Anthony Mark Donald Steven Paul Andrew Joshua Kenneth "
        "Kevin Brian George Peter Hans Luca Pierre Wei Jun Hiroshi Marco Lars Javier Omar "
        "Samuel"
    ),
}
_STREETS = _words("Oak Maple Cedar Elm Pine Lake Hill Park Church Mill River Station Spring")
_CITIES = _words(
    "Springfield Riverton Lakeside Fairview Greenville Bristol Clinton Madison Franklin"
)

# The paper's images came from three centres and four manufacturers.
MANUFACTURERS = (
    ("Canon", "CXDI-710C"),
    ("SIEMENS", "Ysio Max"),
    ("GE Healthcare", "Definium 6000"),
    ("Philips Medical Systems", "DigitalDiagnost"),
)


@dataclass(frozen=True)
class FakePatient:
    """Identifiers of one invented patient (DICOM PN format for the name)."""

    name: str  # "FAMILY^Given^M"
    patient_id: str
    birth_date: date
    sex: str  # "M" or "F"
    address: str
    phone: str
    other_id: str  # an insurance-style number, kept in OtherPatientIDs


@dataclass(frozen=True)
class FakeSite:
    """One invented hospital with its X-ray room."""

    institution: str
    address: str
    department: str
    station: str
    device_serial: str
    manufacturer: str
    model: str


def person_name(rng: np.random.Generator, sex: str | None = None) -> str:
    """A DICOM person name (Family^Given^Initial) for patients and staff."""
    sex = sex or str(rng.choice(["F", "M"]))
    family = str(rng.choice(_FAMILY))
    given = str(rng.choice(_GIVEN[sex]))
    initial = chr(ord("A") + int(rng.integers(26)))
    return f"{family.upper()}^{given}^{initial}"


def fake_patient(rng: np.random.Generator) -> FakePatient:
    """An adult patient; age 52 +/- 17 years, 18-91, as in the paper's Table 2."""
    sex = str(rng.choice(["F", "M"]))
    age_years = float(np.clip(rng.normal(52.0, 17.0), 18.0, 91.0))
    birth = date(2019, 7, 1) - timedelta(days=int(age_years * 365.25))
    street = f"{int(rng.integers(1, 999))} {rng.choice(_STREETS)} Street"
    return FakePatient(
        name=person_name(rng, sex),
        patient_id=f"MRN{int(rng.integers(10**7, 10**8))}",
        birth_date=birth,
        sex=sex,
        address=f"{street}^^{rng.choice(_CITIES)}^^{int(rng.integers(10000, 99999))}",
        phone=f"+1-555-{int(rng.integers(100, 999))}-{int(rng.integers(1000, 9999))}",
        other_id=f"INS-{int(rng.integers(10**9, 10**10))}",
    )


def fake_sites(rng: np.random.Generator, n: int = 3) -> list[FakeSite]:
    """Invented hospitals, each with an X-ray room of one of the four manufacturers."""
    names = ("St. Aurelia General Hospital", "Northbrook University Clinic", "Harbor City Medical")
    sites = []
    for i in range(n):
        maker, model = MANUFACTURERS[(i + int(rng.integers(4))) % len(MANUFACTURERS)]
        city = rng.choice(_CITIES)
        sites.append(
            FakeSite(
                institution=names[i % len(names)],
                address=f"{int(rng.integers(1, 400))} {rng.choice(_STREETS)} Avenue, {city}",
                department="Radiology",
                station=f"DR-ROOM{i + 1}-{city[:3].upper()}",
                device_serial=f"SN{int(rng.integers(10**6, 10**7))}",
                manufacturer=maker,
                model=model,
            )
        )
    return sites


def study_datetime(rng: np.random.Generator, after: datetime | None = None) -> datetime:
    """An acquisition time in office hours; the paper's images date from July-September 2019."""
    if after is None:
        day = date(2019, 7, 1) + timedelta(days=int(rng.integers(0, 92)))
    else:
        # A follow-up radiograph of the same patient, days to months later.
        day = after.date() + timedelta(days=int(rng.integers(1, 120)))
    minute, second = (int(x) for x in rng.integers(0, 60, 2))
    return datetime(day.year, day.month, day.day, 7 + int(rng.integers(0, 11)), minute, second)


def dicom_age(birth: date, on: date) -> str:
    """PatientAge in DICOM AS format, e.g. '051Y'."""
    years = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    return f"{years:03d}Y"
