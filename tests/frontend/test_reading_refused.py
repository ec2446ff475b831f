"""A rating the server refuses is never lost or shown as saved.

Refusals here are real ones, made while the rater is reading: the rater's role in the study is
withdrawn, so the server answers 403 `permission_denied` (not a credentials problem: logging in
again would not help); or the coordinator closes the study (409 `study_closed`).
"""

import json

import pytest

from ratings.models import Assessment, Membership, Role
from tests.factories import names
from tests.frontend.reading_fixtures import chest_dataset, make_reading_study

pytestmark = pytest.mark.browser


def wait_rendered(page, count: int):
    page.wait_for_function("n => window.__iqa.rendered >= n", arg=count, timeout=20_000)


def wait_sent(page):
    page.wait_for_function("() => window.__iqa.outbox() === 0", timeout=20_000)


def values(assessment) -> dict:
    return dict(assessment.ratings.values_list("dimension__key", "value"))


@pytest.fixture
def study(people, tmp_path):
    return make_reading_study(people, chest_dataset(tmp_path, 3, seed=12))


def rate(page, **values):
    """Click the values (the same under any keyboard model), then press Enter."""
    for key, value in values.items():
        page.click(f'#dimensions [data-key="{key.replace("_", "-")}"] .opt[data-value="{value}"]')
    page.keyboard.press("Enter")


def close(study, is_open=False):
    study.is_open = is_open
    study.save(update_fields=["is_open"])


def test_a_rating_refused_with_a_403_stays_in_the_browser_visible_and_can_be_sent_later(
    live_server, page, login, people, study
):
    login(page, names.RATER)
    page.goto(f"{live_server.url}/studies/{study.id}/read/")
    wait_rendered(page, 1)
    first = page.locator("#image-label").inner_text()
    membership = Membership.objects.filter(study=study, user=people[names.RATER])
    membership.update(role=Role.RESEARCHER)  # may still see the study, no longer rate it
    rate(page, gray_level=4, sharpness=5, acceptable=1)
    held = page.locator("#held")
    held.wait_for(state="visible")
    assert "1 rating was not saved by the server" in held.inner_text()
    assert "You may not rate in this study" in held.inner_text()  # the server's reason
    assert page.evaluate("window.__iqa.held()") == 1
    notice = page.locator("#notice").inner_text()
    assert first in notice and "not saved" in notice
    assert "0 finished" in page.locator("#progress-text").inner_text()  # not counted as done
    assert not Assessment.objects.exists()

    # At worst, the rater keeps it as a file.
    with page.expect_download() as download:
        page.click("#held-download")
    saved = json.loads(download.value.path().read_text())
    assert [r["body"]["ratings"] for r in saved["ratings"]] == [
        {"gray-level": 4, "sharpness": 5, "acceptable": 1}
    ]
    assert saved["ratings"][0]["refused"]["code"] == "permission_denied"

    # The role is given back: sent again, stored once, and the page forgets it.
    membership.update(role=Role.RATER)
    page.click("#held-retry")
    held.wait_for(state="hidden")
    wait_sent(page)
    assert values(Assessment.objects.get()) == {"gray-level": 4, "sharpness": 5, "acceptable": 1}


def test_a_refused_change_is_rolled_back_on_the_page_with_the_reason(
    live_server, page, login, people, study
):
    login(page, names.RATER)
    page.goto(f"{live_server.url}/studies/{study.id}/read/")
    wait_rendered(page, 1)
    page.wait_for_timeout(300)
    rate(page, gray_level=4, sharpness=5, acceptable=1)
    wait_rendered(page, 2)
    wait_sent(page)

    # Back to the first image, the study is closed meanwhile, the rater changes 4 to 8.
    page.keyboard.press("ArrowLeft")
    wait_rendered(page, 3)
    close(study)
    rate(page, gray_level=8)
    wait_rendered(page, 4)
    notice = page.locator("#notice")
    notice.wait_for(state="visible")
    assert "change" in notice.inner_text() and "not saved" in notice.inner_text()
    assert "is closed: it takes no new or changed ratings" in notice.inner_text()
    wait_sent(page)

    # The page shows what the server has (4), not the refused 8.
    page.keyboard.press("ArrowLeft")
    wait_rendered(page, 5)
    assert page.locator("#dimensions .dim-value").all_inner_texts()[:2] == ["4", "5"]
    assert values(Assessment.objects.get())["gray-level"] == 4
    assert page.locator("#held").is_visible()  # the refused change is kept too
