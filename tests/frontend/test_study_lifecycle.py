"""The setup page's life-cycle buttons, in the browser: close, reopen, archive."""

import pytest

from ratings.models import ReaderStudy
from tests.factories import names
from tests.frontend.test_accessibility import assert_accessible

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_coordinator_closes_reopens_and_archives_from_the_setup_page(
    people, study, page, login, live_server, browser
):
    login(page, names.COORDINATOR)
    page.goto(f"{live_server.url}/studies/{study.pk}/setup/")
    section = page.locator("#life-cycle")
    assert "This study is open" in section.inner_text()
    assert "can neither rate nor change ratings" in section.inner_text()  # what closed means
    assert_accessible(page, "setup page with its life-cycle buttons")

    page.click("#life-cycle button:has-text('Close study')")
    page.wait_for_load_state("networkidle")
    assert "The study is now closed." in page.content()
    assert ReaderStudy.objects.get(pk=study.pk).state == "closed"

    rater = browser.new_context().new_page()
    login(rater, names.RATER)
    rater.goto(f"{live_server.url}/studies/{study.pk}/read/")
    assert "is closed: it takes no new or changed ratings" in rater.content()
    assert_accessible(rater, "reading page of a closed study")

    page.click("#life-cycle button:has-text('Reopen study')")
    page.wait_for_load_state("networkidle")
    assert ReaderStudy.objects.get(pk=study.pk).state == "open"

    page.click("#life-cycle button:has-text('Archive study')")
    page.wait_for_load_state("networkidle")
    assert "This study is archived" in page.locator("#life-cycle").inner_text()
    rater.goto(f"{live_server.url}/")
    assert study.name not in rater.content()
    rater.context.close()
