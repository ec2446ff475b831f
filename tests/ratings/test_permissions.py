"""The permission table: role x action -> allowed or denied, as the helpers apply it."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from ratings.permissions import Action, can, get_study, studies_for
from tests.factories import names

ALLOWED = {
    names.RATER: {Action.VIEW_STUDY, Action.RATE},
    names.RATER2: {Action.VIEW_STUDY, Action.RATE},
    names.COORDINATOR: {Action.VIEW_STUDY, Action.VIEW_RESULTS, Action.MANAGE_STUDY},
    names.RESEARCHER: {Action.VIEW_STUDY, Action.VIEW_RESULTS, Action.TRAIN_MODELS},
    names.OUTSIDER: set(),
    names.STAFF: set(Action),
}


@pytest.mark.parametrize("who", list(ALLOWED))
@pytest.mark.parametrize("action", list(Action))
def test_role_action_table(people, study, who, action):
    user = people[who]
    expected = action in ALLOWED[who]
    assert can(user, study, action) is expected
    assert studies_for(user, action).filter(pk=study.pk).exists() is expected
    if expected:
        assert get_study(user, study.pk, action) == study
    elif action in ALLOWED[who] or who == names.OUTSIDER:
        with pytest.raises(Http404):
            get_study(user, study.pk, action)
    else:
        with pytest.raises(PermissionDenied):
            get_study(user, study.pk, action)


def test_nobody_rates_in_a_closed_study(people, study):
    study.is_open = False
    study.save()
    assert not can(people[names.RATER], study, Action.RATE)
    assert can(people[names.RATER], study, Action.VIEW_STUDY)


def test_inactive_users_may_do_nothing(people, study):
    rater = people[names.RATER]
    rater.is_active = False
    rater.save()
    assert not any(can(rater, study, action) for action in Action)
