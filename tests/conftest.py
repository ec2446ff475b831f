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


# Figures tests measure (Schemathesis counts, fuzz corpus outcomes, peak memory), shown in
# the terminal summary so a plain `pytest` run reports them.
FIGURES = pytest.StashKey[dict]()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    for title, lines in config.stash.get(FIGURES, {}).items():
        terminalreporter.section(title)
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def report_figure(request):
    """report_figure(section title, line): print now (with -s) and in the terminal summary."""

    def report(title: str, line: str) -> None:
        print(f"{title}: {line}")
        request.config.stash.setdefault(FIGURES, {}).setdefault(title, []).append(line)

    return report


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


def _worker_env(prefix: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(settings.DATABASES["default"]),
        CELERY_QUEUE_PREFIX=prefix,
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        UPLOAD_ROOT=str(settings.UPLOAD_ROOT),
        IQA_INGEST_WORKERS="1",
        PYTHONUNBUFFERED="1",
    )
    return env


def _start_worker(settings, log: Path) -> subprocess.Popen:
    from iqa_platform.celery import all_queue_names

    env = _worker_env(settings.CELERY_QUEUE_PREFIX)
    env["IQA_JOB_STALE_AFTER_S"] = str(settings.IQA_JOB_STALE_AFTER_S)
    with open(log, "ab") as out:
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
                ",".join(all_queue_names()),
                "--loglevel",
                "INFO",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    start = log.stat().st_size if log.exists() else 0
    deadline = time.monotonic() + 60
    while b"ready." not in log.read_bytes()[start:]:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("celery worker did not start:\n" + log.read_text(errors="replace"))
        time.sleep(0.2)
    return proc


@pytest.fixture
def start_worker(transactional_db, settings, tmp_path):
    """Start real `celery worker` processes on the test database (stopped after the test).

    Tasks reach them through the real broker (Redis in CI), so a test sees what a user would:
    the job row changing state in the database. Their queues carry a prefix of the test's own
    (CELERY_QUEUE_PREFIX), so tests never take each other's messages.
    """
    settings.CELERY_QUEUE_PREFIX = f"test-{uuid.uuid4().hex[:12]}-"
    started: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        proc = _start_worker(settings, tmp_path / f"worker-{len(started)}.log")
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in started:
            stop(proc)


@pytest.fixture
def celery_worker(start_worker):
    """One real `celery worker` process consuming the test's own queues."""
    return start_worker()


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
