"""records_from_csv: long-format CSV in, records out, bad rows named by line number."""

import io

import pytest

from ratings.stats.records import RecordError, records_from_csv
from ratings.stats.report import agreement_report

GOOD = """image,rater,dimension,value,duration_ms,group
img1,alice,sharpness,7,10500,radiologist
img1,bob,sharpness,8,,radiographer
img2,alice,sharpness,4,9000,radiologist
img2,bob,sharpness,5,12000,radiographer
"""


def test_reads_records_and_builds_report(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text(GOOD)
    records = records_from_csv(path)
    assert records[0] == {
        "image": "img1",
        "rater": "alice",
        "dimension": "sharpness",
        "value": "7",
        "duration_ms": 10500.0,
        "group": "radiologist",
    }
    assert "duration_ms" not in records[1]
    dim = agreement_report(records)["dimensions"]["sharpness"]
    assert dim["kind"] == "score" and dim["mos"][0]["mean"] == 7.5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("image,rater,value\nimg1,alice,7\n", "line 1: CSV header lacks column(s) dimension"),
        ("image,rater,dimension,value\nimg1,alice,sharpness,7\nimg2,,sharpness,5\n", "line 3"),
        ("image,rater,dimension,value,duration_ms\nimg1,alice,s,7,fast\n", "line 2: duration_ms"),
        ("image,rater,dimension,value,duration_ms\nimg1,alice,s,7,-5\n", "line 2: duration_ms"),
        ("image,rater,dimension,value\nimg1,alice,s,7,extra\n", "line 2: more fields"),
    ],
)
def test_bad_rows_name_their_line(text, message):
    with pytest.raises(RecordError) as error:
        records_from_csv(io.StringIO(text))
    assert message in str(error.value)
