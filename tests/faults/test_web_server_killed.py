"""kill -9 of the web server in the middle of a burst of submissions: every reading the server
acknowledged is stored exactly once, and nothing is stored twice (clients retry with the same
idempotency keys, as the reading page's offline queue does)."""

import time

import pytest

from tests.conftest import wait_for

from .burst import Burst, check_stored_once
from .conftest import rating_study

N_IMAGES = 16


@pytest.mark.faults
def test_acknowledged_ratings_survive_a_kill_9_of_the_web_server(
    transactional_db, server_env, make_server
):
    study, tokens = rating_study(N_IMAGES)
    server = make_server(server_env())
    server.start()
    images = sorted(study.images.values_list("id", flat=True))
    burst = Burst(server.url, study.pk, tokens, images, deadline_s=90)
    began = time.monotonic()
    burst.start()

    wait_for(lambda: burst.count() >= 20, timeout=30, interval=0.02)
    killed_at = burst.count()
    server.kill9()
    time.sleep(0.5)  # clients meet refused connections meanwhile
    server.start()  # ~15 s on a loaded 2-core machine (the app's imports: torch, matplotlib)

    burst.join()
    assert not burst.errors, (burst.errors, burst.count(), burst.statuses, burst.retries)
    assert burst.retries > 0, "the kill hit no request in flight: the test proved nothing"
    counts = check_stored_once(burst, study.pk)
    assert counts["acknowledged"] == len(tokens) * N_IMAGES
    assert counts["stored"] == counts["acknowledged"]
    assert counts["revisions"] == counts["changes"]
    print(
        f"\nkill -9 of gunicorn after {killed_at} acknowledged: {counts}, "
        f"{burst.retries} client retries, {burst.replays} replays, {time.monotonic() - began:.0f} s"
    )
