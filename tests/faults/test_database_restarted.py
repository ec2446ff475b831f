"""PostgreSQL crashes and restarts in the middle of a burst of submissions: every acknowledged
reading is stored exactly once, nothing twice, and the web server recovers by itself (no
restart): its persistent connections are checked before use and opened again."""

import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.db import connections

from tests.conftest import wait_for

from .burst import Burst, check_stored_once
from .conftest import rating_study, skip_unless_postgresql
from .private_pg import PrivatePostgres, pg_tool

N_IMAGES = 16


@pytest.fixture
def private_pg():
    skip_unless_postgresql()
    cluster = PrivatePostgres()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


def copy_test_database(cluster: PrivatePostgres, tmp_path, name: str) -> None:
    """The test database (migrated, with the test's data) into the private cluster."""
    db = settings.DATABASES["default"]
    dump = tmp_path / "test.dump"
    subprocess.run(
        [pg_tool("pg_dump"), "-Fc", "-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432),
         "-U", db["USER"], "-f", str(dump), db["NAME"]],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    cluster.tool("createdb", name)
    cluster.tool("pg_restore", "--no-owner", "-d", name, str(dump))


def copy_back(cluster: PrivatePostgres, tmp_path, name: str) -> None:
    """The private cluster's database over the test database, to check it with the ORM (the
    test may only query its own database)."""
    db = settings.DATABASES["default"]
    dump = tmp_path / "private.dump"
    cluster.tool("pg_dump", "-Fc", "-f", str(dump), name)
    connections["default"].close()
    subprocess.run(
        [pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "-h",
         db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432), "-U", db["USER"], "-d",
         db["NAME"], str(dump)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip


def after_restart(url: str, tokens: dict[str, str], study_id: int, n: int = 32) -> dict:
    """Statuses of `n` reads (one attempt each, from 8 threads) of the study's worklist."""
    import requests

    def read(token: str) -> int:
        answer = requests.get(
            f"{url}/api/v1/studies/{study_id}/assessments/",
            headers={"Authorization": f"Token {token}"},
            timeout=10,
        )
        return answer.status_code

    keys = list(tokens.values())
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(read, (keys[i % len(keys)] for i in range(n))))
    return dict(Counter(statuses))


@pytest.mark.faults
def test_acknowledged_ratings_survive_a_postgresql_restart(
    transactional_db, private_pg, server_env, make_server, tmp_path
):
    study, tokens = rating_study(N_IMAGES)
    copy_test_database(private_pg, tmp_path, "iqa_faults")
    server = make_server(server_env(private_pg.url("iqa_faults")))
    server.start()
    images = sorted(study.images.values_list("id", flat=True))
    began = time.monotonic()
    burst = Burst(server.url, study.pk, tokens, images, deadline_s=90)
    burst.start()

    wait_for(lambda: burst.count() >= 20, timeout=60, interval=0.02)
    crashed_at = burst.count()
    private_pg.crash()
    time.sleep(1.0)  # clients meet a server without its database meanwhile
    private_pg.start()
    back_at, recovered = time.monotonic(), burst.count()

    burst.join()
    assert server.proc is not None and server.proc.poll() is None, "the web server died"
    assert not burst.errors, (burst.errors, burst.count(), burst.statuses)
    # Crashed again while the server is idle: every thread's persistent connection is now
    # dead, and the first request each thread serves must not be the one that finds out.
    private_pg.crash()
    private_pg.start()
    answers = after_restart(server.url, tokens, study.pk)
    assert set(answers) == {200}, f"requests failed right after the database came back: {answers}"

    copy_back(private_pg, tmp_path, "iqa_faults")
    counts = check_stored_once(burst, study.pk)
    assert counts["acknowledged"] == len(tokens) * N_IMAGES
    assert counts["stored"] == counts["acknowledged"]
    assert counts["revisions"] == counts["changes"]
    assert set(burst.statuses) <= {503}, (
        f"answers other than 503 while it was down: {burst.statuses}"
    )
    # Recovered by itself: once the database is back, no request fails (each persistent
    # connection is checked before a request uses it, and a dead one opened again).
    late = [round(t - back_at, 2) for t in burst.failed_sends if t > back_at]
    assert not late, f"{len(late)} requests failed after the database was back: {late[:5]}"
    print(
        f"\nPostgreSQL crash + restart after {crashed_at} acknowledged ({recovered} when back): "
        f"{counts}, {burst.retries} client retries, {burst.replays} replays, answers "
        f"{burst.statuses}, {time.monotonic() - began:.0f} s"
    )
