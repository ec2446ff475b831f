"""The long-format ratings export: what a coordinator opens in a spreadsheet or a script."""

import csv
import io
import json

import pytest

from ratings.models import Assessment, AssessmentStatus, RaterProfile
from ratings.results import ratings_export
from ratings.results.csv_cells import safe_row
from ratings.results.ratings_export import COLUMNS, ExportFormat, iter_csv, iter_json
from tests.factories import names

from .export_helpers import add_category_dimension, rate, revise

pytestmark = pytest.mark.django_db


@pytest.fixture
def rated(study, people, make_user):
    add_category_dimension(study)
    first, second, third = study.images.order_by("pk")
    alice, bob = people[names.RATER], people[names.RATER2]
    # A rater without a profile: exports must still show no username.
    walter = make_user("walter-username")
    reading = rate(
        study, alice, first, {"gray-level": 7, "acceptable": 1, "grade": 2}, zoom_count=3
    )
    revise(reading, "gray-level", 8)
    rate(study, bob, first, {"gray-level": 5, "acceptable": 0, "grade": 1}, active_ms=None)
    rate(study, walter, second, {"sharpness": 4})
    rate(study, alice, first, {"gray-level": 6}, repeat_index=1)
    # Not submitted: not a result.
    rate(study, bob, third, {"gray-level": 2}, status=AssessmentStatus.OPEN)
    Assessment.objects.filter(rater=walter).update(opened_at=None, first_rendered_at=None)
    return study


def _csv_rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def test_csv_has_one_row_per_submitted_rating_with_names_not_accounts(rated, people):
    data = b"".join(iter_csv(rated))
    rows = _csv_rows(data)

    assert tuple(rows[0]) == COLUMNS
    assert len(rows) == 3 + 3 + 1 + 1
    first_alice = [r for r in rows if r["rater"] == "R-alice" and r["repeat_index"] == "0"]
    by_dim = {r["dimension"]: r for r in first_alice}
    assert by_dim["gray-level"]["value"] == "8"
    assert by_dim["gray-level"]["revision_count"] == "1"
    assert by_dim["grade"]["value"] == 'ex"cellent'
    assert by_dim["acceptable"]["value"] == "1"
    assert by_dim["gray-level"]["zoom_count"] == "3"
    assert by_dim["gray-level"]["duration_ms"] == "4000"
    assert by_dim["gray-level"]["opened_at"] == "2026-03-01T09:00:00.250000Z"
    assert by_dim["gray-level"]["submitted_at"] == "2026-03-01T09:00:09.250000Z"
    bob = [r for r in rows if r["rater"] == "R-bob"]
    assert {r["duration_ms"] for r in bob} == {""}
    assert {r["value"] for r in bob if r["dimension"] == "grade"} == {"diagnostic, ok"}
    walter = [r for r in rows if r["rater"].startswith("rater-")]
    assert walter[0]["opened_at"] == "" and walter[0]["group"] == "other"
    text = data.decode()
    for secret in ("walter-username", "alice@", "patient-"):
        assert secret not in text
    for username in (names.RATER, names.RATER2):
        assert f",{username}," not in text


def test_postgresql_fast_path_writes_the_same_bytes_as_the_portable_path(rated, people):
    # Text that starts a spreadsheet formula is quoted on both paths (csv_cells.py).
    add_category_dimension(rated, key="trap", labels=("=1+1", "-x", "@a", "\tt"))
    image = rated.images.order_by("pk")[1]  # rated by walter only so far
    image.label = "+IMG"
    image.save()
    for value, rater in enumerate((people[names.RATER], people[names.RATER2])):
        rate(rated, rater, image, {"trap": value * 2 + 1, "gray-level": 3})
    fast = b"".join(iter_csv(rated))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(map(safe_row, ratings_export.rating_rows(rated)))
    assert fast == buffer.getvalue().encode()
    assert {r["value"] for r in _csv_rows(fast) if r["dimension"] == "trap"} == {"'-x", "'\tt"}
    assert "'+IMG" in {r["image"] for r in _csv_rows(fast)}


def test_json_export_keeps_numbers_numeric_and_labels_as_text(rated):
    document = json.loads(b"".join(iter_json(rated)))
    assert document["columns"] == list(COLUMNS)
    rows = document["ratings"]
    assert len(rows) == 8
    grade = next(r for r in rows if r["dimension"] == "grade" and r["rater"] == "R-alice")
    assert grade["value"] == 'ex"cellent'
    gray = next(r for r in rows if r["dimension"] == "gray-level" and r["repeat_index"] == 1)
    assert gray["value"] == 6 and gray["duration_ms"] == 4000
    assert rows == [
        dict(zip(COLUMNS, row, strict=True)) for row in ratings_export.rating_rows(rated)
    ]


def test_progress_is_reported_up_to_the_total(rated):
    seen = []
    out = io.BytesIO()
    n = ratings_export.write_ratings(rated, out, ExportFormat.CSV, lambda d, t: seen.append((d, t)))
    assert n == 8
    assert seen[-1] == (8, 8)


def test_pseudonym_change_shows_in_the_next_export(rated, people):
    RaterProfile.objects.filter(user=people[names.RATER]).update(pseudonym="E07")
    rows = _csv_rows(b"".join(iter_csv(rated)))
    assert "E07" in {r["rater"] for r in rows}
