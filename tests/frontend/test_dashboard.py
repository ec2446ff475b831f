"""The coordinator dashboard: who reaches it; its figures and numbers match the report."""

import re

import pytest

from ratings.results.dashboard import study_report
from tests.factories import names

pytestmark = pytest.mark.django_db


def url(study) -> str:
    return f"/studies/{study.pk}/dashboard/"


def svgs(html: str) -> list[str]:
    return re.findall(r"<svg .*?</svg>", html, flags=re.DOTALL)


def by_title(html: str, words: str) -> str:
    found = [s for s in svgs(html) if words in s.split("</title>", 1)[0]]
    assert len(found) == 1, f"one figure titled {words!r} expected"
    return found[0]


@pytest.mark.parametrize(
    ("who", "status"),
    [(names.COORDINATOR, 200), (names.RESEARCHER, 200), (names.STAFF, 200), (names.RATER, 403)],
)
def test_who_reaches_the_dashboard(client, rated, people, who, status):
    client.force_login(people[who])
    assert client.get(url(rated)).status_code == status


def test_outsider_does_not_learn_the_study_exists(client, rated, people):
    client.force_login(people[names.OUTSIDER])
    assert client.get(url(rated)).status_code == 404


def test_anonymous_is_sent_to_login(client, rated):
    response = client.get(url(rated))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_figures_have_one_bar_or_cell_per_value(client, rated, people):
    client.force_login(people[names.COORDINATOR])
    html = client.get(url(rated), {"dimension": "gray-level"}).content.decode()
    # Half-point bins over the 1-10 scale.
    assert by_title(html, "histogram").count('id="bar-') == 18
    # Three raters: a 3 x 3 kappa matrix.
    assert by_title(html, "kappa").count('id="cell-') == 9
    section = study_report(rated)["dimensions"]["gray-level"]
    classes = section["jaccard"]["R-alice|R-bob"]["classes"]
    jaccard = by_title(html, "Jaccard")
    assert jaccard.count('id="cell-') == len(classes) ** 2
    assert by_title(html, "Bias").count('id="bar-') == 3
    assert by_title(html, "active time").count('id="bar-') == 3


def test_numbers_match_the_report(client, rated, people):
    client.force_login(people[names.COORDINATOR])
    html = client.get(url(rated), {"dimension": "gray-level"}).content.decode()
    icc2 = study_report(rated)["dimensions"]["gray-level"]["icc"]["ICC2"]
    row = re.search(r'<tr data-form="ICC2">(.*?)</tr>', html, flags=re.DOTALL).group(1)
    assert f"{icc2['value']:.3f}" in row
    assert f"{icc2['ci95'][0]:.3f}" in row
    reml = study_report(rated)["dimensions"]["gray-level"]["icc_reml"]["ICC2"]
    assert f'<td class="num icc-reml">{reml["value"]:.3f} ' in row
    assert f"{reml['ci95'][0]:.3f} – {reml['ci95'][1]:.3f}" in row
    # Pseudonyms only, never usernames.
    assert "R-alice" in html
    assert ">alice<" not in html


def test_progress_and_flags(client, rated, people):
    client.force_login(people[names.COORDINATOR])
    html = client.get(url(rated)).content.decode()
    assert re.search(r'data-rater="R-chris".*?4 / 4', html, flags=re.DOTALL)
    assert "10.5 s" in html  # median of 9, 10, 11, 12 s
    flagged = re.findall(r'<tr class="flagged-row">(.*?)</tr>', html, flags=re.DOTALL)
    last = rated.images.order_by("pk").last()
    assert any(last.label in row and "Gray-level: SD" in row for row in flagged)
    assert f"/studies/{rated.pk}/images/{last.pk}/" in html


def test_pair_choice_changes_the_jaccard_matrix(client, rated, people):
    client.force_login(people[names.COORDINATOR])
    html = client.get(url(rated), {"dimension": "gray-level", "pair": "R-bob|R-chris"}).content
    assert "R-bob (rows) vs R-chris" in html.decode()
    # An unknown pair falls back to the first one instead of failing.
    html = client.get(url(rated), {"pair": "nobody|else"}).content.decode()
    assert "R-alice (rows) vs R-bob" in html


def test_a_study_without_ratings_still_renders(client, study, people):
    from ratings.results.snapshot import refresh

    client.force_login(people[names.COORDINATOR])
    response = client.get(url(study))
    assert response.status_code == 200
    assert "Computing..." in response.content.decode()
    refresh(study.pk)
    assert "No submitted ratings" in client.get(url(study)).content.decode()


def test_image_view_shows_every_rater(client, rated, people):
    image = rated.images.order_by("pk").last()
    page = f"/studies/{rated.pk}/images/{image.pk}/"
    client.force_login(people[names.COORDINATOR])
    html = client.get(page).content.decode()
    for pseudonym in ("R-alice", "R-bob", "R-chris"):
        assert pseudonym in html
    values = re.findall(r'class="num rating-value">([^<]*)<', html)
    # alice, bob, chris in that order: gray-level, sharpness, acceptable each.
    assert values[:3] == ["2", "7", "acceptable"]
    client.force_login(people[names.RATER])
    assert client.get(page).status_code == 403


def test_image_of_another_study_is_404(client, rated, people):
    from tests.factories import make_dataset

    other = make_dataset(n_images=1).images.get()
    client.force_login(people[names.COORDINATOR])
    assert client.get(f"/studies/{rated.pk}/images/{other.pk}/").status_code == 404


def test_report_is_one_self_contained_file(client, rated, people):
    client.force_login(people[names.COORDINATOR])
    response = client.get(f"/studies/{rated.pk}/report/", {"download": "1"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    html = response.content.decode()
    assert "<link" not in html
    assert "<script" not in html
    assert not re.search(r'(src|href)="(http|/)', html)
    # Three dimensions: MOS, kappa, bias, time each; plus three Jaccard pairs each.
    assert len(svgs(html)) == 3 * 4 + 3 * 3
    client.force_login(people[names.RATER])
    assert client.get(f"/studies/{rated.pk}/report/").status_code == 403


@pytest.mark.browser
def test_coordinator_sees_the_figures_and_a_rater_is_refused(
    rated, people, page, login, live_server, tmp_path
):
    login(page, names.COORDINATOR)
    page.goto(f"{live_server.url}{url(rated)}")
    figures = page.locator("svg.figure")
    assert figures.count() == 5
    for i in range(figures.count()):
        assert figures.nth(i).is_visible()
        assert figures.nth(i).bounding_box()["width"] > 200
    assert page.locator("#icc tr[data-form]").count() == 6
    page.select_option("select[name=pair]", "R-alice|R-chris")
    page.wait_for_load_state("networkidle")
    title = page.locator("#fig-jaccard svg").get_attribute("aria-label")
    assert "R-alice (rows) vs R-chris" in title
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    page.click("text=Sharpness")
    assert page.locator("#dimension-sharpness svg.figure").count() == 5

    page.context.clear_cookies()
    login(page, names.RATER)
    response = page.goto(f"{live_server.url}{url(rated)}")
    assert response.status == 403


def test_the_results_and_models_links_are_shown_to_coordinators_but_not_to_raters(
    people, study, client
):
    from tests.factories import names as who

    client.force_login(people[who.COORDINATOR])
    home = client.get("/").content.decode()
    assert "Study results" in home and 'href="/training/">Models' in home
    assert 'href="/qc/">Quality control' in home
    client.force_login(people[who.RATER])
    home = client.get("/").content.decode()
    assert "Study results" not in home and "/training/" not in home and "/qc/" not in home
