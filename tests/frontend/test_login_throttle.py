"""Login throttling (django-axes): 10 wrong passwords lock an account from one address."""

import pytest

from tests.conftest import PASSWORD
from tests.factories import names

pytestmark = pytest.mark.django_db


def attempt(client, username, password, address="203.0.113.7"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def logged_in(client) -> bool:
    return client.get("/").status_code == 200


def test_the_eleventh_attempt_is_refused_even_with_the_right_password(client, people):
    for _ in range(9):
        wrong = attempt(client, names.RATER, "guess")
        assert "didn't match" in wrong.content.decode()
    # The tenth failure locks, and says so at once.
    assert "Too many failed logins" in attempt(client, names.RATER, "guess").content.decode()
    locked = attempt(client, names.RATER, PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "ask an administrator to unlock it" in locked.content.decode()
    assert not logged_in(client)

    # Per account and address: the same user from elsewhere, and others from here, log in.
    assert attempt(client, names.RATER, PASSWORD, address="198.51.100.1").status_code == 302
    client.logout()
    assert attempt(client, names.RATER2, PASSWORD).status_code == 302


def test_a_right_password_resets_the_count(client, people):
    for _ in range(3):
        for _ in range(9):
            attempt(client, names.RATER, "guess")
        assert attempt(client, names.RATER, PASSWORD).status_code == 302
        client.logout()


def test_staff_unlock_in_the_admin_lets_the_user_in(client, people, make_user):
    for _ in range(11):
        attempt(client, names.RATER, "guess")
    assert attempt(client, names.RATER, PASSWORD).status_code == 429

    from axes.models import AccessAttempt

    admin = make_user("root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    row = AccessAttempt.objects.get(username=names.RATER)
    page = client.get("/admin/axes/accessattempt/")
    assert names.RATER in page.content.decode()
    unlock = client.post(f"/admin/axes/accessattempt/{row.pk}/delete/", {"post": "yes"})
    assert unlock.status_code == 302
    client.logout()

    assert attempt(client, names.RATER, PASSWORD).status_code == 302
    assert logged_in(client)


def test_a_script_gets_a_json_answer_with_a_code(client, people):
    for _ in range(10):
        attempt(client, names.RATER, "guess")
    locked = client.post(
        "/login/",
        {"username": names.RATER, "password": PASSWORD},
        REMOTE_ADDR="203.0.113.7",
        HTTP_ACCEPT="application/json",
    )
    assert locked.status_code == 429
    assert locked.json()["code"] == "login_locked"
