"""Fixtures shared by all tests: named users, a study, a real Celery worker, a real Chromium."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher

from tests.deployed import database_url, free_port, production_env, start_gunicorn, stop

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# beside it are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct-horse-battery"


def pytest_configure(config):
    # Static files come from the finders in tests; whitenoise still looks at STATIC_ROOT and
    # warns on every request when it is missing (a clean checkout has no collected files).
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Every test writes its files to its own folder, never to the developer's var/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.UPLOAD_ROOT = tmp_path / "uploads"
    # Full-strength password hashing costs ~0.4 s per user here; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_user(django_user_model):
    def make(username: str, **extra):
        return django_user_model.objects.create_user(
            username=username, password=PASSWORD, email=f"{username}@example.org", **extra
        )

    return make


@pytest.fixture
def people(db, make_user):
    """Named users for roles: two raters, a coordinator, a researcher, an outsider, staff."""
    from tests.factories import names

    return {name: make_user(name, is_staff=(name == names.STAFF)) for name in names.ALL}


@pytest.fixture
def study(people):
    """A small study with a score, a binary and a category dimension, and the named members."""
    from tests.factories import make_study

    return make_study(people)


def _worker_env(queue: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(settings.DATABASES["default"]),
        CELERY_QUEUE=queue,
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        UPLOAD_ROOT=str(settings.UPLOAD_ROOT),
        IQA_INGEST_WORKERS="1",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def celery_worker(transactional_db, settings, tmp_path):
    """A real `celery worker` process consuming a queue of its own, on the test database.

    Tasks must reach it through the real broker (Redis in CI), so the test sees what a user
    would: the job row changing state in the database.
    """
    from iqa_platform.celery import app

    queue = f"test-{uuid.uuid4().hex[:12]}"
    previous_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "iqa_platform",
                "worker",
                "--pool",
                "solo",
                "--queues",
                queue,
                "--loglevel",
                "INFO",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=_worker_env(queue),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while b"ready." not in log.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("celery worker did not start:\n" + log.read_text(errors="replace"))
        time.sleep(0.2)
    try:
        yield proc
    finally:
        app.conf.task_default_queue = previous_queue
        stop(proc)


@pytest.fixture
def deployed_server(transactional_db, settings, tmp_path):
    """The app as deployed (gunicorn, DEBUG off, manifest static files through whitenoise) on
    the test database. It checks passwords with the real hashers, not the tests' MD5: `admit`
    gives a user a real (Argon2) hash of PASSWORD before they log in there."""
    env = dict(
        os.environ,
        DATABASE_URL=database_url(settings.DATABASES["default"]),
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        UPLOAD_ROOT=str(settings.UPLOAD_ROOT),
        IQA_TEST_HOOKS="1",
    )
    port = free_port()
    proc = start_gunicorn(
        port, production_env(env, tmp_path / "static"), tmp_path / "server.log", workers=1
    )

    def admit(user):
        hasher = Argon2PasswordHasher()
        user.password = hasher.encode(PASSWORD, hasher.salt())
        user.save(update_fields=["password"])

    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{port}", admit=admit)
    finally:
        stop(proc)


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.2):
    """Poll until predicate() is truthy; return its value or fail the test with a clear message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout:.0f} s")


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium, driven by Playwright (no browser download happens)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make browser` (or apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def login(live_server):
    """Log a page in through the real login form (of `server`, the live server by default)."""

    def do_login(page, username: str, password: str = PASSWORD, server=live_server):
        page.goto(f"{server.url}/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        return page

    return do_login
