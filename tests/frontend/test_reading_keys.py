"""The keyboard model, tried as a new rater would: following the panel's own hint.

The hint says "1-9, 0 = 10 score the highlighted dimension · Tab next dimension · Enter submit":
for a study of one, two and three dimensions (score, binary, category), exactly that key sequence
stores exactly those values, and nothing is overwritten or left out without the page saying so.
"""

import pytest

from ratings.models import Assessment, Dimension, DimensionKind
from tests.factories import names
from tests.frontend.reading_fixtures import chest_dataset, make_reading_study

pytestmark = pytest.mark.browser

SCORE = {"key": "quality", "label": "Quality"}
SCORE2 = {"key": "noise", "label": "Noise"}
BINARY = {
    "key": "acceptable", "label": "Acceptable", "kind": DimensionKind.BINARY,
    "min_value": 0, "max_value": 1,
}  # fmt: skip
CATEGORY = {
    "key": "exposure", "label": "Exposure", "kind": DimensionKind.CATEGORY,
    "categories": ["too dark", "right", "too bright"], "min_value": 0, "max_value": 2,
}  # fmt: skip

# (dimensions, the hint's key sequence, what must be stored)
CASES = {
    "one": ([SCORE], ["5", "Enter"], {"quality": 5}),
    "two": ([SCORE, SCORE2], ["5", "Tab", "6", "Enter"], {"quality": 5, "noise": 6}),
    "three": (
        [SCORE, BINARY, CATEGORY],
        ["5", "Tab", "1", "Tab", "2", "Enter"],
        {"quality": 5, "acceptable": 1, "exposure": 1},  # key 1: acceptable; key 2: "right"
    ),
}


def study_with(people, tmp_path, dimensions):
    study = make_reading_study(people, chest_dataset(tmp_path, 2, seed=8))
    study.dimensions.all().delete()
    for order, fields in enumerate(dimensions):
        Dimension.objects.create(study=study, order=order, **fields)
    return study


def wait_rendered(page, count: int):
    page.wait_for_function("n => window.__iqa.rendered >= n", arg=count, timeout=20_000)


def stored(study) -> list[dict]:
    return [
        dict(a.ratings.values_list("dimension__key", "value"))
        for a in Assessment.objects.filter(study=study).order_by("submitted_at")
    ]


@pytest.mark.parametrize("case", CASES)
def test_the_hints_own_key_sequence_stores_exactly_what_was_typed(
    case, live_server, page, login, people, tmp_path
):
    dimensions, keys, expected = CASES[case]
    study = study_with(people, tmp_path, dimensions)
    login(page, names.RATER)
    page.goto(f"{live_server.url}/studies/{study.id}/read/")
    wait_rendered(page, 1)
    hint = page.locator(".keys-hint").inner_text()
    assert "score the highlighted dimension" in hint and "Tab next dimension" in hint
    page.keyboard.press("?")  # the help says the same
    help_text = page.locator("#help").inner_text()
    assert "Score the highlighted dimension" in help_text
    assert "Next / previous dimension" in help_text
    page.keyboard.press("Escape")

    page.wait_for_timeout(300)
    for key in keys:
        page.keyboard.press(key)
    wait_rendered(page, 2)
    page.wait_for_function("() => window.__iqa.outbox() === 0", timeout=20_000)
    assert stored(study) == [expected]


def test_a_replaced_value_and_a_missing_one_are_said_on_the_page(
    live_server, page, login, people, tmp_path
):
    study = study_with(people, tmp_path, [SCORE, SCORE2])
    login(page, names.RATER)
    page.goto(f"{live_server.url}/studies/{study.id}/read/")
    wait_rendered(page, 1)
    page.wait_for_timeout(300)
    for key in ["5", "6"]:  # a second digit without Tab replaces the first value: visibly
        page.keyboard.press(key)
    assert "Quality changed from 5 to 6" in page.locator("#panel-hint").inner_text()
    assert page.locator("#dimensions .dim-value").all_inner_texts() == ["6", "—"]
    page.keyboard.press("Enter")  # Noise is not rated: not submitted, and said where it shows
    notice = page.locator("#notice")
    notice.wait_for(state="visible")
    assert "Not submitted" in notice.inner_text() and "Noise" in notice.inner_text()
    assert page.locator("#dimensions .dim.active h3").inner_text() == "Noise"
    assert page.evaluate("window.__iqa.rendered") == 1 and not Assessment.objects.exists()
    for key in ["7", "Enter"]:
        page.keyboard.press(key)
    wait_rendered(page, 2)
    page.wait_for_function("() => window.__iqa.outbox() === 0", timeout=20_000)
    assert stored(study) == [{"quality": 6, "noise": 7}]
