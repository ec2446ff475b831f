"""The reading page's test hook (window.__iqa: page state and the viewer) only under test."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.factories import names
from tests.frontend.reading_fixtures import chest_dataset, make_reading_study

pytestmark = pytest.mark.browser


def test_the_hook_is_off_unless_the_setting_turns_it_on():
    code = "from django.conf import settings; print(settings.IQA_TEST_HOOKS)"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "iqa_platform.settings"},
    )  # fmt: skip
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr


@pytest.mark.parametrize("hooks", [False, True])
def test_the_page_exposes_its_state_only_under_test(
    hooks, settings, live_server, page, login, people, tmp_path
):
    settings.IQA_TEST_HOOKS = hooks
    study = make_reading_study(people, chest_dataset(tmp_path, 2, seed=6))
    login(page, names.RATER)
    page.goto(f"{live_server.url}/studies/{study.id}/read/")
    # The image is on screen (its window shows in the overlay): the page script has run.
    page.wait_for_function("() => /W \\d+/.test(document.getElementById('overlay-bl').textContent)")
    exposed = page.evaluate("() => typeof window.__iqa !== 'undefined'")
    assert exposed is hooks
    assert ("data-test-hooks" in page.content()) is hooks
