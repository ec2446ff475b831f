"""manage.py agreement --csv prints the report without touching the database."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

CSV = """image,rater,dimension,value,duration_ms
img1,alice,sharpness,7,10000
img1,bob,sharpness,8,12000
img2,alice,sharpness,4,9000
img2,bob,sharpness,5,11000
img3,alice,sharpness,9,8000
img3,bob,sharpness,9,7000
"""


def test_csv_json(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text(CSV)
    out = StringIO()
    call_command("agreement", "--csv", str(path), "--json", stdout=out)
    report = json.loads(out.getvalue())
    dim = report["dimensions"]["sharpness"]
    assert dim["n_images"] == 3 and dim["icc"]["n_images_used"] == 3


def test_bad_csv_row_is_a_command_error(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("image,rater,dimension,value\nimg1,,sharpness,7\n")
    with pytest.raises(CommandError, match="line 2"):
        call_command("agreement", "--csv", str(path))


def test_needs_exactly_one_source():
    with pytest.raises(CommandError):
        call_command("agreement")
