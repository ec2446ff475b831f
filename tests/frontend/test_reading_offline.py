"""No rating lost: offline ratings wait in the browser and are sent once, and a second tab
cannot make a second assessment."""

import pytest

from ratings.models import Assessment
from tests.factories import names
from tests.frontend.reading_fixtures import chest_dataset, make_reading_study

pytestmark = pytest.mark.browser

SUBMIT_URL = "**/api/v1/studies/*/assessments/"


def wait_rendered(page, count: int):
    page.wait_for_function(
        "n => window.__iqa && window.__iqa.rendered >= n", arg=count, timeout=20_000
    )


@pytest.fixture
def chest_study(people, tmp_path):
    return make_reading_study(people, chest_dataset(tmp_path, 4, seed=5))


def test_offline_ratings_are_kept_shown_and_sent_once(
    live_server, page, login, people, chest_study
):
    login(page, names.RATER)
    page.goto(f"{live_server.url}/studies/{chest_study.id}/read/")
    wait_rendered(page, 1)

    page.route(SUBMIT_URL, lambda route: route.abort("internetdisconnected"))
    for key in ["5", "Tab", "5", "Tab", "1", "Enter"]:
        page.keyboard.press(key)
    wait_rendered(page, 2)  # the next image does not wait for the network
    banner = page.locator("#banner")
    banner.wait_for(state="visible")
    assert "cannot be reached" in banner.inner_text()
    assert "kept safely in this browser" in banner.inner_text()
    assert not Assessment.objects.exists()

    # A reload while offline keeps the rating, and the page knows the image is done.
    page.reload()
    wait_rendered(page, 1)
    assert "1 finished" in page.locator("#progress-text").inner_text()

    # The first attempt reaches the server but its answer is lost: the retry stores nothing twice.
    calls = []

    def lose_first_answer(route):
        calls.append(route.request.method)
        if len(calls) == 1:
            route.fetch()
            route.abort("connectionreset")
        else:
            route.continue_()

    page.unroute(SUBMIT_URL)
    page.route(SUBMIT_URL, lose_first_answer)
    page.wait_for_function("() => window.__iqa.outbox() === 0", timeout=40_000)
    assert len(calls) >= 2
    assert Assessment.objects.filter(rater=people[names.RATER]).count() == 1
    page.locator("#banner").wait_for(state="hidden")
    values = dict(Assessment.objects.get().ratings.values_list("dimension__key", "value"))
    assert values == {"gray-level": 5, "sharpness": 5, "acceptable": 1}


def test_two_tabs_of_one_rater_make_one_assessment(live_server, page, login, people, chest_study):
    login(page, names.RATER)
    url = f"{live_server.url}/studies/{chest_study.id}/read/"
    page.goto(url)
    other = page.context.new_page()
    other.goto(url)
    wait_rendered(page, 1)
    wait_rendered(other, 1)
    assert page.locator("#image-label").inner_text() == other.locator("#image-label").inner_text()
    for key in ["7", "Tab", "7", "Tab", "1", "Enter"]:
        page.keyboard.press(key)
    page.wait_for_function("() => window.__iqa.outbox() === 0")
    other.bring_to_front()
    for key in ["2", "Tab", "2", "Tab", "2", "Enter"]:
        other.keyboard.press(key)
    other.wait_for_function("() => window.__iqa.outbox() === 0")
    notice = other.locator("#notice")
    notice.wait_for(state="visible")
    assert "already been rated" in notice.inner_text()
    assert Assessment.objects.count() == 1
    values = dict(Assessment.objects.get().ratings.values_list("dimension__key", "value"))
    assert values == {"gray-level": 7, "sharpness": 7, "acceptable": 1}
