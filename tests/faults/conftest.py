"""Fixtures of the fault tests: a study with raters holding API tokens, a server as deployed that
a test can kill -9 and start again."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from tests.deployed import database_url, free_port, production_env, start_gunicorn

RATERS = ("alice", "bob", "ranjit", "mei")


def rating_study(n_images: int, raters=RATERS):
    """A study of `n_images` images read by `raters`, each with an API token; returns
    (study, {username: token})."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from ratings.models import Membership, RaterProfile, Role
    from tests.factories import make_study, names

    User = get_user_model()
    people = {name: User.objects.create_user(name, password="x") for name in names.ALL}
    study = make_study(people, n_images=n_images)
    tokens = {}
    for name in raters:
        user = people.get(name) or User.objects.create_user(name, password="x")
        Membership.objects.get_or_create(user=user, study=study, defaults={"role": Role.RATER})
        RaterProfile.objects.get_or_create(user=user, defaults={"pseudonym": f"R-{name}"})
        tokens[name] = Token.objects.create(user=user).key
    return study, tokens


class Server:
    """gunicorn as deployed on a fixed port, in a process group of its own."""

    def __init__(self, env: dict, log: Path, workers: int = 2, threads: int = 4):
        self.env, self.log, self.workers, self.threads = env, log, workers, threads
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = start_gunicorn(
            self.port, self.env, self.log, self.workers, self.threads, own_group=True
        )

    def kill9(self) -> None:
        """kill -9 the master and every worker at once: requests in flight die with them."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture
def server_env(settings, tmp_path):
    """The environment of the app as deployed on the test database (static files collected)."""

    def build(database: str | None = None) -> dict:
        env = dict(
            os.environ,
            DATABASE_URL=database or database_url(settings.DATABASES["default"]),
            MEDIA_ROOT=str(settings.MEDIA_ROOT),
            UPLOAD_ROOT=str(settings.UPLOAD_ROOT),
            PYTHONUNBUFFERED="1",
        )
        return production_env(env, tmp_path / "static")

    return build


@pytest.fixture
def make_server(tmp_path):
    servers: list[Server] = []

    def make(env: dict, **kw) -> Server:
        server = Server(env, tmp_path / f"server-{len(servers)}.log", **kw)
        servers.append(server)
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.stop()


def on_postgresql() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def skip_unless_postgresql() -> None:
    if not on_postgresql():
        pytest.skip("PostgreSQL only: run with DATABASE_URL=postgres://... (the CI's second pass)")
