"""The model-versus-expert page: a researcher sees the tables per split part and the figures
(scatter, Bland-Altman, ROC) as inline SVG; the run page links to it; raters get 404."""

import re

import pytest

from tests.factories import names
from tests.frontend.test_page_csp import directives
from tests.inference.compare_fixtures import judge_acceptable, time_the_readings, train_version
from tests.inference.rated import make_rated_study


@pytest.fixture
def rated_study(people, tmp_path):
    return make_rated_study(people, tmp_path)


@pytest.mark.django_db
def test_a_researcher_reads_the_report_with_its_figures(client, people, rated_study):
    version = train_version(rated_study)
    judge_acceptable(rated_study)
    time_the_readings(rated_study, people)
    url = f"/training/versions/{version.pk}/report/"

    for name in (names.RATER, names.OUTSIDER):
        client.force_login(people[name])
        assert client.get(url).status_code == 404, name

    client.force_login(people[names.RESEARCHER])
    run_page = client.get(f"/training/runs/{version.run_id}/").content.decode()
    assert url in run_page

    response = client.get(url, {"part": "all", "label_dimension": "acceptable"})
    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"])["script-src"] == "'self'"
    page = response.content.decode()
    # One row per split part that has images, and "All images".
    parts = re.findall(r'<tr data-part="(\w+)"', page)
    assert parts[-1] == "all" and set(parts) <= {"train", "val", "test", "all"}
    assert len(parts) >= 3
    for figure in ("fig-scatter", "fig-bland-altman", "fig-roc"):
        section = page.split(f'id="{figure}"', 1)[1].split("</section>", 1)[0]
        assert "<svg" in section, figure
    scatter = page.split('id="fig-scatter"', 1)[1]
    assert 'id="identity-line"' in scatter and 'id="regression-line"' in scatter
    assert 'id="ci-band-1"' in page and 'id="ci-band-2"' in page  # the limits' CIs
    assert 'id="youden-point"' in page
    assert "Experts: radiologist" in page and "Experts: radiographer" in page
    # Ten worst disagreements, each linked to the image's ratings in the study.
    worst = page.split('id="worst"', 1)[1].split("</section>", 1)[0]
    assert worst.count(f"/studies/{rated_study.pk}/images/") == 10

    client.force_login(people[names.COORDINATOR])
    assert client.get(url).status_code == 200  # the test part by default


@pytest.mark.django_db
def test_a_bad_choice_is_a_400_page_naming_it(client, people, rated_study):
    version = train_version(rated_study)
    client.force_login(people[names.RESEARCHER])
    url = f"/training/versions/{version.pk}/report/"
    bad = client.get(url, {"label_dimension": "gray-level"})
    assert bad.status_code == 400 and "no binary dimension" in bad.content.decode()
    assert client.get(url, {"part": "holdout"}).status_code == 400
