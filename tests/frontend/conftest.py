"""Fixtures shared by the page tests."""

import pytest
from django.utils import timezone

from ratings.results.snapshot import refresh
from tests.factories import names, rate

# Three raters x four images; image 4 splits the panel (SD > 2) and is flagged.
GRAY = {"alice": [7, 5, 9, 2], "bob": [8, 5, 8, 9], "chris": [7, 4, 9, 6]}
SHARP = {"alice": [6, 6, 8, 7], "bob": [6, 7, 8, 7], "chris": [5, 6, 9, 8]}


@pytest.fixture(autouse=True)
def _test_hooks(settings):
    """The reading page's window.__iqa, which the browser tests read (off by default)."""
    settings.IQA_TEST_HOOKS = True


@pytest.fixture
def rated(study, people, make_user):
    from ratings.models import Membership, RaterProfile, Role, StudyImage
    from tests.factories import make_image

    chris = make_user("chris")
    Membership.objects.create(user=chris, study=study, role=Role.RATER)
    RaterProfile.objects.create(user=chris, pseudonym="R-chris", profession="radiologist")
    StudyImage.objects.create(study=study, image=make_image(study.dataset))
    raters = {"alice": people[names.RATER], "bob": people[names.RATER2], "chris": chris}
    for who, user in raters.items():
        for i, image in enumerate(study.images.order_by("pk")):
            rate(
                study,
                user,
                image,
                {"gray-level": GRAY[who][i], "sharpness": SHARP[who][i], "acceptable": i % 2},
                active_ms=9000 + 1000 * i,
                submitted_at=timezone.now(),
            )
    # What the worker does after these ratings: pages show the stored snapshot.
    refresh(study.pk)
    return study
