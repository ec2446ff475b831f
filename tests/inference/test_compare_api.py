"""The model-versus-expert report over the API: researchers and coordinators of the version's
study get the JSON and the pairs CSV, raters and outsiders nothing; bad input is a clear 400."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.factories import names
from tests.inference.compare_fixtures import judge_acceptable, train_version


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.django_db
def test_researchers_and_coordinators_get_the_report_raters_do_not(people, rated_study, tmp_path):
    version = train_version(rated_study)
    judge_acceptable(rated_study)
    url = f"/api/v1/model-versions/{version.pk}/report/"

    for user in (names.RATER, names.RATER2, names.OUTSIDER):
        assert _client(people[user]).get(url).status_code == 404
        assert _client(people[user]).get(url + "pairs/").status_code == 404
    assert APIClient().get(url).status_code == 403

    researcher = _client(people[names.RESEARCHER])
    response = researcher.get(url, {"part": "all", "label_dimension": "acceptable"})
    assert response.status_code == 200, response.content
    report = response.json()
    assert report["n"] == 16 and report["part"] == "" and report["model_version"] == version.pk
    assert {"paired", "icc", "bland_altman", "roc", "subgroups", "timing"} <= set(report)
    assert (report["roc"]["n_positive"], report["roc"]["n_negative"]) == (5, 8)
    coordinator = _client(people[names.COORDINATOR])
    test_part = coordinator.get(url).json()
    assert test_part["part"] == "test" and test_part["n"] == version.run.counts["test"]

    # The pairs CSV read back by `manage.py compare --csv` gives the same statistics.
    pairs = researcher.get(url + "pairs/", {"part": "all", "label_dimension": "acceptable"})
    assert pairs.status_code == 200 and pairs["Content-Type"].startswith("text/csv")
    lines = pairs.content.decode().splitlines()
    assert lines[0].startswith("image,model,expert,label,diff,part,site")
    assert len(lines) == 17
    path = tmp_path / "pairs.csv"
    path.write_bytes(pairs.content)
    out = StringIO()
    call_command("compare", "--csv", str(path), "--json", stdout=out)
    again = json.loads(out.getvalue())
    assert again["n"] == 16
    assert again["paired"]["mean_diff"] == pytest.approx(report["paired"]["mean_diff"], abs=1e-5)
    assert again["roc"]["auc"] == pytest.approx(report["roc"]["auc"])

    # Bad input: 400 naming the parameter, before any scoring.
    assert researcher.get(url, {"part": "holdout"}).status_code == 400
    bad = researcher.get(url, {"label_dimension": "gray-level"})
    assert bad.status_code == 400 and "label_dimension" in bad.json()
    assert researcher.get(url, {"threshold": "nan"}).status_code == 400
