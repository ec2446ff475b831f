"""Test-retest repeats in a real browser: a repeat comes up like any image, with an empty panel."""

import pytest

from ratings.models import Assessment
from ratings.worklist import build_worklist
from tests.factories import names
from tests.frontend.reading_fixtures import chest_dataset, make_reading_study

pytestmark = pytest.mark.browser


def wait_rendered(page, count: int):
    page.wait_for_function(
        "n => window.__iqa && window.__iqa.rendered >= n", arg=count, timeout=20_000
    )


def wait_sent(page):
    page.wait_for_function("() => window.__iqa.outbox() === 0", timeout=20_000)


def panel(page) -> dict:
    """What the scoring panel shows: each dimension's value, selected buttons, the mode line."""
    return {
        "values": page.locator("#dimensions .dim-value").all_inner_texts(),
        "selected": page.locator("#dimensions .opt.selected").count(),
        "mode": page.locator("#mode").is_visible(),
        "submit": page.locator("#submit").inner_text(),
    }


EMPTY = {"values": ["—", "—", "—"], "selected": 0, "mode": False, "submit": "Submit and next"}


def test_a_repeat_comes_up_blinded_with_an_empty_panel_and_is_stored_as_the_second_reading(
    live_server, page, login, people, tmp_path
):
    # 5 images, 2 read twice: the first repeat is at most 7 items in.
    study = make_reading_study(people, chest_dataset(tmp_path, 5, seed=4), repeat_fraction=0.4)
    alice = people[names.RATER]
    items = build_worklist(study, alice).items
    assert len(items) == 7
    repeat = next(item for item in items if item.repeat_index == 1)
    first = next(i for i in items if i.image_id == repeat.image_id and i.repeat_index == 0)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))

    login(page, names.RATER)
    page.goto(f"{live_server.url}/studies/{study.id}/read/")
    rendered = 0

    def rate_here(position: int) -> None:
        nonlocal rendered
        rendered += 1
        wait_rendered(page, rendered)
        assert page.evaluate("window.__iqa.position()") == position
        shown = panel(page)
        assert shown == EMPTY, (position, shown)
        assert page.locator("#image-label").inner_text() == f"Case {position + 1}"  # no name
        assert f"Image {position + 1} of 7" in page.locator("#progress-text").inner_text()
        page.wait_for_timeout(300)
        # The first reading of the repeated image gets 8, its repeat 4.
        gray = "4" if position == repeat.position else "8" if position == first.position else "6"
        for key in [gray, "Tab", "5", "Tab", "1", "Enter"]:
            page.keyboard.press(key)

    for position in range(repeat.position):
        rate_here(position)
    wait_sent(page)
    # A reload resumes at the repeat, which opens empty although its image was rated before.
    page.reload()
    rendered = 0
    rate_here(repeat.position)
    wait_rendered(page, rendered + 1)
    wait_sent(page)

    readings = {
        a.repeat_index: {r.dimension.key: r.value for r in a.ratings.select_related("dimension")}
        for a in Assessment.objects.filter(study=study, rater=alice, image_id=repeat.image_id)
    }
    assert readings == {
        0: {"gray-level": 8, "sharpness": 5, "acceptable": 1},
        1: {"gray-level": 4, "sharpness": 5, "acceptable": 1},
    }
    assert Assessment.objects.filter(study=study, rater=alice).count() == repeat.position + 1

    # Going back to the repeat shows the repeat's own reading, as for any earlier image.
    page.keyboard.press("ArrowLeft")
    wait_rendered(page, rendered + 2)
    assert page.evaluate("window.__iqa.position()") == repeat.position
    shown = panel(page)
    assert shown["mode"] and shown["values"][:2] == ["4", "5"]
    assert not errors, errors
    # Every URL the page fetched, files included, is the item's own: none names an image's UID
    # or a repeat, and the repeat's file came under another URL than its first reading's.
    boot = page.evaluate("JSON.parse(document.getElementById('reading-boot').textContent)")
    ids = {i["position"]: i["item"] for i in boot["worklist"]["items"]}
    assert ids[repeat.position] != ids[first.position]
    assert not [u for u in fetched if "objectUID" in u or "repeat_index" in u or "/images/" in u]
    files = {u for u in fetched if "/file/" in u}
    assert {u for u in files if ids[repeat.position] in u}
    assert {u for u in files if ids[first.position] in u}
