"""Every CSV export neutralises text cells that a spreadsheet would run as a formula (OWASP)."""

import csv
import io
import zipfile

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from ratings.models import Dimension, DimensionKind, RaterProfile
from ratings.results.mos_table import iter_mos_csv
from ratings.results.release import build_zip, create_release, release_zip_path
from tests.factories import names

from .export_helpers import attach_dicom, rate

pytestmark = pytest.mark.django_db

EVIL = '=HYPERLINK("http://evil.example";"x")'


@pytest.fixture
def booby_trapped(study, people):
    """A category label, an image label and a pseudonym that start formulas; a score of -3."""
    Dimension.objects.create(
        study=study, key="grade", label="Grade", kind=DimensionKind.CATEGORY,
        min_value=0, max_value=2, categories=[EVIL, "+1", "\tok"], order=8,
    )  # fmt: skip
    Dimension.objects.create(
        study=study, key="offset", label="Offset", min_value=-5, max_value=5, order=9
    )
    image = study.images.order_by("pk").first()
    image.label = "@SUM(A1)"
    image.save()
    attach_dicom(image, settings.MEDIA_ROOT)
    RaterProfile.objects.filter(user=people[names.RATER]).update(pseudonym="-R1")
    for rater in (people[names.RATER], people[names.RATER2]):
        rate(study, rater, image, {"grade": 0, "offset": -3})
    return study


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_ratings_csv_quotes_formula_text_but_not_negative_numbers(booby_trapped, people):
    client = APIClient()
    client.force_authenticate(people[names.COORDINATOR])
    response = client.get(f"/api/v1/studies/{booby_trapped.pk}/exports/ratings.csv")
    assert response.status_code == 200
    table = rows(b"".join(response.streaming_content).decode())
    grade = [r for r in table if r["dimension"] == "grade"]
    offset = [r for r in table if r["dimension"] == "offset"]
    assert {r["value"] for r in grade} == {"'" + EVIL}
    assert {r["image"] for r in table} == {"'@SUM(A1)"}
    assert "'-R1" in {r["rater"] for r in table}
    assert {r["value"] for r in offset} == {"-3"}  # a number stays a number


def test_mos_csv_quotes_formula_text_but_not_negative_numbers(booby_trapped):
    table = rows(b"".join(iter_mos_csv(booby_trapped)).decode())
    grade = next(r for r in table if r["dimension"] == "grade")
    offset = next(r for r in table if r["dimension"] == "offset")
    assert grade["majority"] == "'" + EVIL
    assert grade["image"] == "'@SUM(A1)"
    assert float(offset["mos"]) == -3.0
    assert offset["mos"].startswith("-")


def test_release_labels_csv_quotes_formula_text_but_not_negative_numbers(booby_trapped, people):
    release = build_zip(create_release(booby_trapped, user=people[names.COORDINATOR]))
    archive = zipfile.ZipFile(release_zip_path(release))
    labels_csv = next(n for n in archive.namelist() if n.endswith("/labels.csv"))
    table = rows(archive.read(labels_csv).decode())
    row = next(r for r in table if r["image"] == "'@SUM(A1)")
    assert row["grade_majority"] == "'" + EVIL
    assert float(row["offset_mos"]) == -3.0


def test_the_importer_reads_our_quoted_labels_back():
    from ratings.results.csv_cells import safe_cell, unquote_cell

    assert unquote_cell(safe_cell(EVIL)) == EVIL
    assert unquote_cell("'plain") == "'plain"  # a quote before ordinary text is the text's own
    assert safe_cell(-3) == -3 and safe_cell(-0.5) == -0.5
