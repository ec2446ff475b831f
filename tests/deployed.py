"""The web app as deployed, for tests and benchmarks: gunicorn, DEBUG off, static files collected
by the manifest storage and served by whitenoise (what the Dockerfile runs).

Static-file paths are where a deployment differs most from `runserver`: hashed names in the
pages, unhashed ones fetched by the viewer's worker for its codecs. Tests of the page as deployed
catch what Django's finders (which the `live_server` fixture serves from) would hide.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ACCESS_FORMAT = "%(m)s %(U)s %(s)s %(D)s"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url(db: dict) -> str:
    """The DATABASE_URL of a Django database settings dict (to hand to another process)."""
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return (
        f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


def production_env(env: dict, static_root: Path) -> dict:
    """`env` as deployed, on plain-HTTP localhost (no HTTPS redirect, no secure-only cookies),
    with the static files collected into `static_root`."""
    server_env = dict(env)
    server_env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        DEID_SECRET=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        SECURE_COOKIES="0",
        STATIC_ROOT=str(static_root),
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=ROOT, env=server_env, check=True,
    )  # fmt: skip
    return server_env


def start_gunicorn(
    port: int,
    env: dict,
    log: Path,
    workers: int = 2,
    threads: int = 4,
    access_log: Path | None = None,
    own_group: bool = False,
) -> subprocess.Popen:
    """gunicorn on 127.0.0.1:port, returned once it accepts connections.

    `access_log`: where each request is logged as "METHOD PATH STATUS MICROSECONDS" (the time
    the server spent on it), for benchmarks that ask where the time goes. `own_group`: in a
    process group of its own, so that a fault test can kill -9 the master and its workers at
    once (`os.killpg`), as a crashed machine would."""
    cmd = [
        sys.executable, "-m", "gunicorn", "iqa_platform.wsgi",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
        "--preload", "--log-level", "warning",
    ]  # fmt: skip
    if access_log is not None:
        cmd += ["--access-logfile", str(access_log), "--access-logformat", ACCESS_FORMAT]
    # Appended: a server started again after a kill keeps the first one's log above its own.
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=own_group,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server did not start:\n" + log.read_text(errors="replace"))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start in 60 s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
