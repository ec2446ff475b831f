"""The reading page in a real browser: keyboard rating, zoom and pan, going back, resuming."""

import os

import pytest

from ratings.models import Assessment, AssessmentStatus, Rating, RatingRevision
from ratings.worklist import build_worklist
from tests.factories import names
from tests.frontend.reading_fixtures import chest_dataset, make_reading_study

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("IQA_SHOTS")  # a folder: keep screenshots while working on the page


def _shot(page, name):
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png")


def wait_rendered(page, count: int):
    page.wait_for_function(
        "n => window.__iqa && window.__iqa.rendered >= n", arg=count, timeout=20_000
    )


def wait_sent(page):
    page.wait_for_function("() => window.__iqa.outbox() === 0", timeout=20_000)


def current_label(page) -> str:
    return page.locator("#image-label").inner_text()


@pytest.fixture
def chest_study(people, tmp_path):
    return make_reading_study(people, chest_dataset(tmp_path, 6))


def test_rate_with_the_keyboard_go_back_reload_and_resume(
    live_server, page, login, people, chest_study
):
    alice = people[names.RATER]
    order = [item.label for item in build_worklist(chest_study, alice).items]
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )

    login(page, names.RATER)
    page.get_by_role("link", name="Start").click()
    wait_rendered(page, 1)
    _shot(page, "01-first")
    assert current_label(page) == order[0]
    assert "Image 1 of 6" in page.locator("#progress-text").inner_text()

    # Image 1: zoom with the wheel, pan with a drag, then rate from the keyboard.
    box = page.locator("#viewport").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.wheel(0, -400)
    page.wait_for_timeout(400)
    page.mouse.down()
    page.mouse.move(cx + 80, cy + 40, steps=8)
    page.mouse.up()
    page.keyboard.press("i")  # invert, and back
    page.keyboard.press("i")
    page.keyboard.press("v")  # a window preset counts as a window interaction
    page.wait_for_timeout(700)
    page.keyboard.press("7")
    page.keyboard.press("Tab")
    page.keyboard.press("6")
    page.keyboard.press("Tab")
    page.keyboard.press("1")  # acceptable
    _shot(page, "02-rated")
    page.keyboard.press("Enter")
    wait_rendered(page, 2)
    assert current_label(page) == order[1]

    # Images 2 and 3: keyboard only (0 means 10; 2 means non-acceptable).
    page.wait_for_timeout(600)
    for key in ["5", "Tab", "0", "Tab", "2", "Enter"]:
        page.keyboard.press(key)
    wait_rendered(page, 3)
    page.wait_for_timeout(600)
    for key in ["3", "Tab", "4", "Tab", "2"]:
        page.keyboard.press(key)
    page.keyboard.press("Enter")
    wait_rendered(page, 4)
    assert current_label(page) == order[3]
    wait_sent(page)

    # Back to image 3: change gray-level from 3 to 8; the old value is kept as a revision.
    page.keyboard.press("ArrowLeft")
    wait_rendered(page, 5)
    assert current_label(page) == order[2]
    assert page.locator("#mode").is_visible()
    _shot(page, "03-back")
    page.keyboard.press("8")
    page.keyboard.press("Enter")
    wait_rendered(page, 6)
    assert current_label(page) == order[3]  # on to the first unfinished image
    wait_sent(page)

    # A reload resumes at the first unfinished image; so does a new login.
    page.reload()
    wait_rendered(page, 1)
    assert current_label(page) == order[3]
    assert "3 finished" in page.locator("#progress-text").inner_text()
    page.wait_for_timeout(500)
    for key in ["6", "Tab", "6", "Tab", "1", "Enter"]:
        page.keyboard.press(key)
    wait_rendered(page, 2)
    wait_sent(page)
    _shot(page, "04-after-reload")

    # A new login (another browser, nothing in its storage) resumes there too.
    fresh = page.context.browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        elsewhere = login(fresh.new_page(), names.RATER)
        assert "4 of 6 finished" in elsewhere.locator(".study .counts").inner_text()
        elsewhere.get_by_role("link", name="Continue").click()
        wait_rendered(elsewhere, 1)
        assert current_label(elsewhere) == order[4]
        _shot(elsewhere, "05-new-login")
    finally:
        fresh.close()

    assessments = {
        a.image.label: a
        for a in Assessment.objects.filter(study=chest_study, rater=alice).select_related("image")
    }
    assert set(assessments) == set(order[:4])
    values = {
        label: {r.dimension.key: r.value for r in a.ratings.select_related("dimension")}
        for label, a in assessments.items()
    }
    assert values[order[0]] == {"gray-level": 7, "sharpness": 6, "acceptable": 1}
    assert values[order[1]] == {"gray-level": 5, "sharpness": 10, "acceptable": 0}
    assert values[order[2]] == {"gray-level": 8, "sharpness": 4, "acceptable": 0}
    assert values[order[3]] == {"gray-level": 6, "sharpness": 6, "acceptable": 1}
    revisions = RatingRevision.objects.filter(rating__assessment__study=chest_study)
    assert [(r.rating.dimension.key, r.value) for r in revisions] == [("gray-level", 3)]
    assert revisions[0].rating.assessment.image.label == order[2]

    for a in assessments.values():
        assert a.status == AssessmentStatus.SUBMITTED
        assert a.opened_at <= a.first_rendered_at <= a.submitted_at
        wall_ms = (a.submitted_at - a.opened_at).total_seconds() * 1000
        assert 300 <= a.active_ms <= wall_ms, (a.active_ms, wall_ms)
        assert wall_ms < 60_000
        assert a.client_timing["client"]["submitted_ms"] >= a.active_ms
    first = assessments[order[0]]
    assert first.zoom_count >= 1 and first.pan_count >= 1 and first.window_count >= 1
    assert first.final_viewport["zoom"] > 0 and first.final_viewport["invert"] is False
    assert first.final_viewport["window_width"] > 0
    second = assessments[order[1]]
    assert (second.zoom_count, second.pan_count, second.window_count) == (0, 0, 0)
    first_inputs = dict(
        Rating.objects.filter(assessment=first).values_list("dimension__key", "first_input_ms")
    )
    assert all(ms is not None and ms >= 0 for ms in first_inputs.values())
    assert first_inputs["gray-level"] <= first_inputs["sharpness"] <= first_inputs["acceptable"]
    assert not errors, errors


def test_a_minimum_viewing_time_holds_submit_back(live_server, page, login, people, tmp_path):
    study = make_reading_study(people, chest_dataset(tmp_path, 2, seed=9), min_view_ms=2_000)
    login(page, names.RATER)
    page.goto(f"{live_server.url}/studies/{study.id}/read/")
    wait_rendered(page, 1)
    first = current_label(page)
    for key in ["4", "Tab", "4", "Tab", "1", "Enter"]:
        page.keyboard.press(key)
    submit = page.locator("#submit")
    assert submit.is_disabled()
    assert "Submit in" in submit.inner_text()
    assert current_label(page) == first  # Enter did nothing yet
    page.wait_for_function("() => !document.getElementById('submit').disabled", timeout=5_000)
    page.keyboard.press("Enter")
    wait_rendered(page, 2)
    wait_sent(page)
    a = Assessment.objects.get(study=study)
    assert a.image.label == first
    assert (a.submitted_at - a.first_rendered_at).total_seconds() >= 2.0


def test_the_help_takes_focus_and_gives_it_back(live_server, page, login, people, tmp_path):
    """Keyboard and screen-reader users land in the help when it opens, and rating goes on
    from the keyboard once it closes."""
    study = make_reading_study(people, chest_dataset(tmp_path, 2, seed=4))
    login(page, names.RATER)
    page.goto(f"{live_server.url}/studies/{study.id}/read/")
    wait_rendered(page, 1)
    before = page.evaluate("() => document.activeElement.id")
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    assert page.evaluate("() => document.activeElement.id") == "help-close"
    page.keyboard.press("Escape")
    assert page.locator("#help").is_hidden()
    # Back where it was (the viewport when the page itself had focus), at once.
    assert page.evaluate("() => document.activeElement.id") == (before or "viewport")
    for key in [
        "6",
        "Tab",
        "5",
        "Tab",
        "1",
        "Enter",
    ]:  # the keys score again, not the closed dialog
        page.keyboard.press(key)
    wait_rendered(page, 2)
    wait_sent(page)
    rating = Rating.objects.get(assessment__study=study, dimension__key="gray-level")
    assert rating.value == 6


SHORT_RUNS_JS = """minRun => {
    // Along canvas rows (every 8th), the share of runs of one grey level shorter than minRun:
    // pixel replication at zoom z repeats each image pixel about z times, so its runs are long;
    // smoothing blends neighbours into in-between shades, runs of one or two pixels.
    const canvas = window.__iqa.viewer.element.querySelector('canvas');
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let short = 0, runs = 0;
    for (let y = 0; y < canvas.height; y += 8) {
        let length = 1;
        for (let x = 1; x < canvas.width; x++) {
            const i = 4 * (y * canvas.width + x);
            if (data[i] === data[i - 4]) { length += 1; continue; }
            runs += 1;
            short += length < minRun;
            length = 1;
        }
    }
    return short / runs;
}"""
# Two animation frames: cornerstone draws on the next one after a viewport change.
FRAMES_JS = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def test_n_shows_unsmoothed_pixels_keeps_them_and_stores_the_choice(
    live_server, page, login, people, tmp_path
):
    study = make_reading_study(people, chest_dataset(tmp_path, 2, seed=6))
    login(page, names.RATER)
    page.goto(f"{live_server.url}/studies/{study.id}/read/")
    wait_rendered(page, 1)
    fit = page.evaluate("() => window.__iqa.viewer.state().zoom")
    for _ in range(12):  # zoom far in: each image pixel spans many screen pixels
        page.keyboard.press("+")
    page.wait_for_function("z => window.__iqa.viewer.state().zoom > z * 8", arg=fit)
    page.evaluate(FRAMES_JS)
    smooth = page.evaluate(SHORT_RUNS_JS, 4)
    page.keyboard.press("n")
    page.wait_for_function("() => window.__iqa.viewer.state().pixel_replication === true")
    page.evaluate(FRAMES_JS)
    sharp = page.evaluate(SHORT_RUNS_JS, 4)
    assert sharp < 0.05 and smooth > 0.3, (sharp, smooth)
    assert "pixels" in page.locator("#overlay-bl").inner_text()
    for key in ["5", "Tab", "5", "Tab", "1", "Enter"]:
        page.keyboard.press(key)
    wait_rendered(page, 2)
    assert page.evaluate("() => window.__iqa.viewer.state().pixel_replication") is True
    wait_sent(page)
    stored = Assessment.objects.get(study=study, rater=people[names.RATER])
    assert stored.final_viewport["pixel_replication"] is True
