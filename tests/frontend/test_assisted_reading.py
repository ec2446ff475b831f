"""An assisted-reading rater sees the model's score beside the image and can show its map;
a rater of an ordinary study sees no model panel at all."""

import pytest

from ratings.models import Membership, ReaderStudy, Role
from tests.inference.rated import make_rated_study
from tests.inference.versions import make_version

pytestmark = pytest.mark.browser


def _fresh_rater(study, make_user):
    user = make_user("fiona")
    Membership.objects.create(user=user, study=study, role=Role.RATER)
    return user


def test_the_assisted_rater_sees_the_score_and_the_map(
    people, page, login, live_server, tmp_path, make_user
):
    study = make_rated_study(people, tmp_path)
    ReaderStudy.objects.filter(pk=study.pk).update(show_model_output=True)
    make_version(study, arch="cahdc-rga", active=True)
    _fresh_rater(study, make_user)
    login(page, "fiona")
    page.goto(f"{live_server.url}/studies/{study.pk}/read/")
    page.wait_for_function(
        "() => /^-?\\d+\\.\\d\\d$/.test(document.getElementById('assist-score').textContent)",
        timeout=60_000,
    )
    page.get_by_label("Show where the model looks").check()
    page.wait_for_function("() => document.getElementById('viewport').dataset.saliency === 'drawn'")


def test_an_ordinary_study_has_no_model_panel(
    people, page, login, live_server, tmp_path, make_user
):
    study = make_rated_study(people, tmp_path)
    make_version(study, arch="cahdc-rga", active=True)
    _fresh_rater(study, make_user)
    login(page, "fiona")
    page.goto(f"{live_server.url}/studies/{study.pk}/read/")
    page.wait_for_selector("#image-label:not(:empty)")
    assert page.locator("#assist").count() == 0
    html = page.content()
    assert "saliency" not in html.lower() and '"model":' not in html
