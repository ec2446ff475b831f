"""Every page of the site runs under a Content-Security-Policy that allows only our own scripts,
and still works under it in a real browser."""

import pytest

from iqa_platform.csp import PAGE_CSP
from tests.factories import names


def directives(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


def page_urls(study) -> list[str]:
    image = study.images.order_by("pk").first()
    return [
        "/",
        "/studies/",
        f"/studies/{study.pk}/dashboard/",
        f"/studies/{study.pk}/dashboard/?dimension=sharpness",
        f"/studies/{study.pk}/images/{image.pk}/",
        f"/studies/{study.pk}/report/",
        f"/studies/{study.pk}/setup/",
        f"/studies/{study.pk}/setup/images/",
        f"/studies/{study.pk}/setup/dimensions/",
        f"/studies/{study.pk}/setup/members/",
        f"/studies/{study.pk}/exports/",
        "/datasets/",
        f"/datasets/{study.dataset.pk}/",
        f"/datasets/{study.dataset.pk}/images/{image.pk}/",
    ]


@pytest.mark.django_db
def test_pages_allow_only_our_own_scripts(client, rated, people):
    client.force_login(people[names.COORDINATOR])
    for url in page_urls(rated):
        response = client.get(url)
        assert response.status_code == 200, url
        policy = directives(response["Content-Security-Policy"])
        assert policy["script-src"] == "'self'", url
        assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'", url
    client.logout()
    assert client.get("/login/")["Content-Security-Policy"] == PAGE_CSP


@pytest.mark.django_db
def test_the_reading_page_keeps_its_stricter_policy_and_admin_pages_their_own(
    client, rated, people
):
    client.force_login(people[names.RATER])
    reading = directives(client.get(f"/studies/{rated.pk}/read/")["Content-Security-Policy"])
    assert reading["style-src"] == "'self'"  # no inline styles on the reading page
    client.force_login(people[names.STAFF])
    # Django's admin and DRF's browsable API carry inline scripts of their own.
    assert "Content-Security-Policy" not in client.get("/admin/")
    assert "Content-Security-Policy" not in client.get("/api/v1/docs/")


@pytest.mark.browser
def test_pages_work_under_the_policy_in_a_browser(live_server, page, login, rated, people):
    violations = []
    page.on(
        "console",
        lambda m: "Content Security Policy" in m.text and violations.append(m.text),
    )
    login(page, names.COORDINATOR)
    for url in page_urls(rated):
        page.goto(f"{live_server.url}{url}")
        page.wait_for_load_state("load")
    assert violations == []
    # The Jaccard pair choice is script (a file of ours, no inline handler): picking a pair
    # shows its matrix.
    page.goto(f"{live_server.url}/studies/{rated.pk}/dashboard/?dimension=gray-level")
    assert "R-alice (rows) vs R-bob" in page.locator("#fig-jaccard").inner_html()
    with page.expect_navigation():
        page.select_option("#fig-jaccard select[name=pair]", "R-bob|R-chris")
    after = page.locator("#fig-jaccard").inner_html()
    assert "R-bob (rows) vs R-chris" in after and "R-alice (rows)" not in after
    assert violations == []
