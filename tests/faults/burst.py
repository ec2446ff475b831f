"""A burst of rating submissions from several client threads that retry as the reading page does:
on a connection error or a 5xx, the same request again with the same idempotency key (the
assessment's `client_id`, a change's `edit_id`), until the server acknowledges it (2xx).

What each thread was acknowledged is kept, so a test can check the database after a fault:
every acknowledged reading and change stored exactly once, nothing stored twice.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

import requests

RETRY_PAUSE_S = 0.1


@dataclass
class Acknowledged:
    rater: str
    image: int
    client_id: str
    ratings: dict[str, int]
    edit_id: str | None = None  # a change to `ratings` acknowledged after the submission


@dataclass
class Burst:
    """Raters (username -> API token) each reading `images` in order, from a thread each."""

    base_url: str
    study_id: int
    tokens: dict[str, str]
    images: list[int]
    deadline_s: float = 45.0
    acknowledged: list[Acknowledged] = field(default_factory=list)
    retries: int = 0
    failed_sends: list[float] = field(default_factory=list)  # monotonic start of each 5xx send
    replays: int = 0  # 200 to a resent submission: stored before the fault, answer lost in it
    errors: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)  # non-2xx answers seen, by status
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self._stop_at = time.monotonic() + self.deadline_s
        for rater, token in self.tokens.items():
            thread = threading.Thread(target=self._rate_all, args=(rater, token), daemon=True)
            thread.start()
            self._threads.append(thread)

    def join(self) -> None:
        for thread in self._threads:
            thread.join(max(self._stop_at - time.monotonic(), 0) + 5)
        assert not any(t.is_alive() for t in self._threads), "a client thread never finished"

    def count(self) -> int:
        with self._lock:
            return len(self.acknowledged)

    def _rate_all(self, rater: str, token: str) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        url = f"{self.base_url}/api/v1/studies/{self.study_id}/assessments/"
        for n, image in enumerate(self.images):
            client_id = str(uuid.uuid4())
            values = {
                "gray-level": 1 + (image + n) % 10,
                "sharpness": 1 + n % 10,
                "acceptable": n % 2,
            }
            body = {"client_id": client_id, "image": image, "ratings": values}
            if not self._until_acknowledged(session, "post", url, body):
                return
            ack = Acknowledged(rater, image, client_id, dict(values))
            with self._lock:
                self.acknowledged.append(ack)
            if n % 3 == 0:  # every third reading is changed once, as a rater going back would
                edit_id = str(uuid.uuid4())
                changed = {**values, "sharpness": 1 + (values["sharpness"] % 10)}
                change = {"ratings": changed, "edit_id": edit_id}
                if not self._until_acknowledged(session, "patch", f"{url}{client_id}/", change):
                    return
                with self._lock:
                    ack.ratings, ack.edit_id = changed, edit_id

    def _until_acknowledged(self, session, method: str, url: str, body: dict) -> bool:
        while time.monotonic() < self._stop_at:
            if method == "post":
                body = {**body, "timing": _timing()}  # a resend carries its own send time
            sent = time.monotonic()
            try:
                response = session.request(method, url, json=body, timeout=10)
            except requests.RequestException:
                self._retried()
                continue
            if 200 <= response.status_code < 300:
                if method == "post" and response.status_code == 200:
                    with self._lock:
                        self.replays += 1
                return True
            with self._lock:
                self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
            if response.status_code >= 500:
                with self._lock:
                    self.failed_sends.append(sent)
                self._retried()
                continue
            with self._lock:
                self.errors.append(f"{method} {url}: {response.status_code} {response.text[:300]}")
            return False
        with self._lock:
            self.errors.append(f"{method} {url}: not acknowledged before the deadline")
        return False

    def _retried(self) -> None:
        with self._lock:
            self.retries += 1
        time.sleep(RETRY_PAUSE_S)


def _timing() -> dict:
    now = time.time() * 1000
    return {
        "opened_wall": now - 4_000,
        "submitted_wall": now - 5,
        "sent_wall": now,
        "rendered_ms": 30,
        "submitted_ms": 4_000,
        "active_ms": 3_500,
    }


def check_stored_once(burst: Burst, study_id: int) -> dict[str, int]:
    """Assert, in the test's database, that every acknowledged reading and change is stored
    exactly once and that nothing is stored twice; return the counts."""
    from ratings.models import Assessment, Rating, RatingRevision

    stored = list(
        Assessment.objects.filter(study_id=study_id)
        .select_related("rater")
        .prefetch_related("ratings__dimension")
    )
    by_client = {str(a.client_id): a for a in stored}
    readings = [(a.rater.username, a.image_id, a.repeat_index) for a in stored]
    assert len(readings) == len(set(readings)), "an image was stored twice for one rater"
    for ack in burst.acknowledged:
        assessment = by_client.get(ack.client_id)
        assert assessment is not None, f"acknowledged reading {ack.client_id} was lost"
        assert (assessment.rater.username, assessment.image_id) == (ack.rater, ack.image)
        values = {r.dimension.key: r.value for r in assessment.ratings.all()}
        assert values == ack.ratings, (
            f"reading {ack.client_id}: stored {values}, sent {ack.ratings}"
        )
        edits = assessment.client_timing.get("edits", [])
        if ack.edit_id:
            assert [e["edit_id"] for e in edits] == [ack.edit_id], "a change was applied twice"
    n_ratings = Rating.objects.filter(assessment__study_id=study_id).count()
    assert n_ratings == 3 * len(stored), "a rating row was stored twice"
    n_edits = sum(1 for a in burst.acknowledged if a.edit_id)
    revisions = RatingRevision.objects.filter(rating__assessment__study_id=study_id).count()
    # A change acknowledged before the fault or replayed after it: one revision each, never two.
    assert revisions <= sum(len(a.client_timing.get("edits", [])) for a in stored)
    acknowledged = {a.client_id for a in burst.acknowledged}
    unacknowledged = [c for c in by_client if c not in acknowledged]
    return {
        "acknowledged": len(acknowledged),
        "stored": len(stored),
        "stored_unacknowledged": len(unacknowledged),
        "changes": n_edits,
        "revisions": revisions,
    }
