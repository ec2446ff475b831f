"""Settings come from the environment, fail loudly on bad values, and pass `check --deploy`."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # The test process itself allows async-unsafe ORM calls (Playwright); a deployment must not.
    dropped = ("DEBUG", "SECRET_KEY", "DEID_SECRET", "DJANGO_ALLOW_ASYNC_UNSAFE")
    full_env = {k: v for k, v in os.environ.items() if k not in dropped}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_check_deploy_is_clean_with_debug_off_and_real_values():
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="iqa.example.org",
        DEID_SECRET=secrets.token_urlsafe(50),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_off_without_a_deid_secret_fails_the_checks_and_the_web_server():
    """No silent fallback to SECRET_KEY: rotating it would change every pseudonym."""
    key = secrets.token_urlsafe(50)
    production = {"DEBUG": "0", "SECRET_KEY": key, "ALLOWED_HOSTS": "iqa.example.org"}
    for args in (("check",), ("check", "--deploy")):
        result = _manage(*args, **production)
        assert result.returncode != 0, result.stdout
        assert "iqa.E001" in result.stderr and "DEID_SECRET must be set" in result.stderr
    same = _manage("check", **production, DEID_SECRET=key)
    assert same.returncode != 0 and "DEID_SECRET must differ from SECRET_KEY" in same.stderr
    # gunicorn runs no checks: loading the WSGI application refuses too.
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "DEID_SECRET")}
    wsgi = subprocess.run(
        [sys.executable, "-c", "import iqa_platform.wsgi"],
        cwd=ROOT, env={**env, **production}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert wsgi.returncode != 0 and "DEID_SECRET must be set" in wsgi.stderr
    # In development the fallback stays: `make run` needs no variables.
    assert _manage("check").returncode == 0


def test_debug_off_without_a_secret_key_refuses_to_start():
    result = _manage("check", DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize(("name", "value"), [("DEBUG", "maybe"), ("IQA_INGEST_WORKERS", "two")])
def test_a_malformed_value_is_named_in_the_error(name, value):
    result = _manage("check", **{name: value})
    assert result.returncode != 0
    assert name in result.stderr and value in result.stderr
