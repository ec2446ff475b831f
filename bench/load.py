"""Benchmark: N concurrent simulated raters against the web app as deployed.

Each rater is a thread with its own session and keep-alive connection. It loads its worklist
once (the reading page's payload), then loops as fast as the server lets it: open the next
item (GET .../items/<item>/), fetch its DICOM (the URL the payload gives the viewer, served
like WADO-URI), submit the rating with timing (POST .../assessments/). Per N it prints
ratings/s, the p50 / p95 / p99 latency of the submit as the client saw it, the errors, and
where the time goes: the server's own time per request (gunicorn's access log, %(D)s) beside
the client's latency; the difference is the wait for a free worker thread (and the client).
`--profile` also runs one submission in-process under cProfile and counts its SQL queries.

The server runs as deployed: gunicorn (several workers and threads), DEBUG off, PostgreSQL
(its own database, iqa_bench_load, created and dropped here), Redis as the Celery broker
(queues under a prefix of this run, emptied at the end). Sessions are made directly in the
database (a login's PBKDF2 would only time the password hash).

    python bench/load.py [--raters 10 50 100 200] [--duration 30] [--images 100]
                         [--workers 4] [--threads 4] [--profile]
                         [--database-url postgres://postgres@127.0.0.1:5432/iqa_bench_load]
                         [--broker redis://127.0.0.1:6379/0]

Target (issue 12, 2 cores): >= 200 ratings/s with p99 <= 100 ms at 100 raters.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.deployed import free_port, production_env, start_gunicorn, stop  # noqa: E402

CACHE = ROOT / "var" / "bench-cache" / "load-radiographs"
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/iqa_bench_load"
TARGET = (100, 200.0, 100.0)  # at 100 raters: >= 200 ratings/s, p99 <= 100 ms


# --- setup ------------------------------------------------------------------------------------


def _files(n: int) -> list[Path]:
    existing = sorted(CACHE.glob("*.dcm"))
    if len(existing) >= n:
        return existing[:n]
    from demo.synthetic.generate import generate_chest_dataset

    shutil.rmtree(CACHE, ignore_errors=True)
    print(f"generating {n} radiographs into {CACHE} (once) ...", flush=True)
    generate_chest_dataset(CACHE, n, seed=91, workers=os.cpu_count() or 1, unique_uids=True)
    return sorted(CACHE.glob("*.dcm"))[:n]


def _admin_dsn(url: str) -> tuple[str, str]:
    """(the server's maintenance database URL, the bench database's name)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not parts.scheme.startswith("postgres") or not name:
        sys.exit("bench/load.py needs PostgreSQL: --database-url postgres://.../iqa_bench_load")
    return urlunsplit(parts._replace(path="/postgres")), name


def _recreate_database(url: str, drop_only: bool = False) -> None:
    import psycopg

    admin, name = _admin_dsn(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def _setup(n_images: int, work: Path) -> int:
    """Migrate and import the radiographs into a dataset; return its id."""
    import django

    django.setup()
    from django.core.management import call_command

    from imaging.ingest import ingest_paths
    from imaging.models import Dataset

    call_command("migrate", verbosity=0)
    folder = work / "in"
    folder.mkdir()
    for f in _files(n_images):
        shutil.copy(f, folder / f.name)
    dataset = Dataset.objects.create(name="bench-load")
    ingest_paths(dataset, [folder])
    return dataset.pk


def _study_with_raters(dataset_id: int, n_raters: int) -> tuple[int, list[str]]:
    """A fresh study over the dataset with `n_raters` raters; (its id, their session keys)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )

    from demo.seeding import chest_paper_dimensions
    from imaging.models import Dataset
    from ratings.models import Membership, ReaderStudy, Role, StudyImage

    dataset = Dataset.objects.get(pk=dataset_id)
    study = ReaderStudy.objects.create(name=f"bench-load-{n_raters}", dataset=dataset)
    StudyImage.objects.bulk_create(StudyImage(study=study, image=i) for i in dataset.images.all())
    chest_paper_dimensions(study)
    User = get_user_model()
    users = []
    for i in range(n_raters):
        user = User(username=f"bench-{n_raters}-{i}")
        user.set_unusable_password()  # no PBKDF2 per rater: the session is made below
        users.append(user)
    users = User.objects.bulk_create(users)
    Membership.objects.bulk_create(Membership(user=u, study=study, role=Role.RATER) for u in users)
    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = []
    for user in User.objects.filter(username__startswith=f"bench-{n_raters}-"):
        session = store()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        keys.append(session.session_key)
    return study.pk, keys


# --- the simulated rater ----------------------------------------------------------------------


@dataclass
class Tally:
    submit_ms: list[float] = field(default_factory=list)
    open_ms: list[float] = field(default_factory=list)
    file_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    exhausted: int = 0  # raters who rated their whole worklist before the time was up
    lock: threading.Lock = field(default_factory=threading.Lock)


class Rater(threading.Thread):
    def __init__(self, port, study_id, session_key, start, stop_at, tally, dwell_ms):
        super().__init__(daemon=True)
        self.port, self.study_id, self.start_barrier = port, study_id, start
        self.stop_at, self.tally, self.dwell = stop_at, tally, dwell_ms / 1000
        csrf = secrets.token_hex(16)  # a CSRF secret of our own: cookie and header agree
        self.headers = {
            "Cookie": f"sessionid={session_key}; csrftoken={csrf}",
            "X-CSRFToken": csrf,
            "Accept": "application/json",
        }
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes, float]:
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()  # reconnects on the next request
            return -1, type(exc).__name__.encode(), (time.perf_counter() - started) * 1000
        return response.status, content, (time.perf_counter() - started) * 1000

    def run(self) -> None:
        base = f"/api/v1/studies/{self.study_id}"
        status, content, _ = self.call("GET", f"{base}/worklist/")
        todo, dims = [], {}
        if status == 200:
            payload = json.loads(content)
            dims = {d["id"]: d for d in payload["dimensions"]}
            todo = [item for item in payload["items"] if item["mine"] is None]
        else:
            self._error("worklist", status)
        self.start_barrier.wait()
        if status != 200:
            return
        for item in todo:
            if time.monotonic() >= self.stop_at:
                return
            status, _, ms = self.call("GET", f"{base}/items/{item['item']}/")
            self._keep("open_ms", "open", status, 200, ms)
            url = item["image_ids"][0].removeprefix("wadouri:")
            status, _, ms = self.call("GET", url)
            self._keep("file_ms", "file", status, 200, ms)
            if self.dwell:
                time.sleep(self.dwell)
            now = time.time() * 1000
            body = {
                "client_id": str(uuid.uuid4()),
                "item": item["item"],
                "ratings": {
                    dims[d]["key"]: dims[d]["max_value"] - n % 2
                    for n, d in enumerate(item["dimensions"])
                },
                "timing": {
                    "opened_wall": now - 3000, "submitted_wall": now - 5, "sent_wall": now,
                    "rendered_ms": 40, "submitted_ms": 3000, "active_ms": 2500,
                },
            }  # fmt: skip
            status, _, ms = self.call("POST", f"{base}/assessments/", body)
            self._keep("submit_ms", "submit", status, 201, ms)
        with self.tally.lock:
            self.tally.exhausted += 1

    def _keep(self, series: str, what: str, status: int, ok: int, ms: float) -> None:
        with self.tally.lock:
            if status == ok:
                getattr(self.tally, series).append(ms)
            else:
                self.tally.errors[f"{what} {status}"] += 1

    def _error(self, what: str, status: int) -> None:
        with self.tally.lock:
            self.tally.errors[f"{what} {status}"] += 1


def _drive(port: int, study_id: int, keys: list[str], duration: float, dwell_ms: int) -> tuple:
    tally = Tally()
    start = threading.Barrier(len(keys) + 1)
    stop_at = time.monotonic() + 3600  # set for real once every rater has its worklist
    raters = [Rater(port, study_id, k, start, stop_at, tally, dwell_ms) for k in keys]
    for rater in raters:
        rater.start()
    start.wait()
    began = time.monotonic()
    for rater in raters:
        rater.stop_at = began + duration
    for rater in raters:
        rater.join()
    return tally, time.monotonic() - began


# --- reporting --------------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _line(values: list[float]) -> str:
    return (
        f"p50 {_pct(values, 0.5):6.1f}  p95 {_pct(values, 0.95):6.1f}  "
        f"p99 {_pct(values, 0.99):6.1f} ms (n={len(values)})"
    )


def _server_times(access_log: Path, offset: int) -> dict[str, list[float]]:
    """ms the server spent per request kind, from the access log lines after `offset`."""
    times: dict[str, list[float]] = defaultdict(list)
    with open(access_log, "rb") as log:
        log.seek(offset)
        for raw in log:
            parts = raw.decode(errors="replace").split()
            if len(parts) != 4 or not parts[3].isdigit():
                continue
            method, path, _status, micros = parts
            if method == "POST" and path.endswith("/assessments/"):
                kind = "submit"
            elif path.endswith("/file/"):
                kind = "file"
            elif "/items/" in path:
                kind = "open"
            else:
                kind = "other"
            times[kind].append(int(micros) / 1000)
    return times


def _profile_one_submission(dataset_id: int) -> None:
    """One submission in-process: its SQL queries and where its Python time goes."""
    import cProfile
    import pstats

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ratings.models import Membership, ReaderStudy
    from ratings.reading import submit_assessment
    from ratings.worklist import build_worklist

    study_id, _ = _study_with_raters(dataset_id, 1)
    study = ReaderStudy.objects.get(pk=study_id)
    rater = Membership.objects.get(study=study).user
    images = [item.image_id for item in build_worklist(study, rater).items]
    values = {d.key: d.max_value for d in study.dimensions.all()}
    now = time.time() * 1000
    timing = {"submitted_wall": now, "sent_wall": now, "rendered_ms": 40, "submitted_ms": 3000}

    def submit(image_id: int) -> None:
        submit_assessment(
            study=study, rater=rater, image_id=image_id, client_id=uuid.uuid4(),
            values=values, timing=timing,
        )  # fmt: skip

    submit(images[0])  # warm caches
    with CaptureQueriesContext(connection) as queries:
        submit(images[1])
    profiler = cProfile.Profile()
    profiler.enable()
    for image_id in images[2:22]:
        submit(image_id)
    profiler.disable()
    n_profiled = len(images[2:22])
    print(f"  profile: one submission makes {len(queries)} SQL queries:")
    for q in queries.captured_queries:
        print(f"    {float(q['time']) * 1000:5.1f} ms  {q['sql'][:110]}")
    print(f"  profile: {n_profiled} submissions in-process, top functions by cumulative time:")
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raters", type=int, nargs="+", default=[10, 50, 100, 200])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per N")
    parser.add_argument("--images", type=int, default=100, help="images in each study")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--dwell-ms", type=int, default=0, help="a rater's pause per image")
    parser.add_argument("--profile", action="store_true", help="profile one submission too")
    parser.add_argument("--keep-db", action="store_true", help="leave iqa_bench_load behind")
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_LOAD_DATABASE_URL", DEFAULT_DB)
    )
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    (work / "var").mkdir()
    prefix = f"bench-load-{os.getpid()}-"
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="iqa_platform.settings",
        IQA_VAR_DIR=str(work / "var"),
        MEDIA_ROOT=str(work / "media"),
        DATABASE_URL=args.database_url,
        CELERY_BROKER_URL=args.broker,
        CELERY_QUEUE_PREFIX=prefix,
        # The server's too (production_env makes a new one): the sessions made here are
        # signed with it.
        SECRET_KEY=secrets.token_urlsafe(50),
    )
    os.environ.update(env)
    _recreate_database(args.database_url)
    server = None
    access_log = work / "access.log"
    results = []
    try:
        dataset_id = _setup(args.images, work)
        if args.profile:
            _profile_one_submission(dataset_id)
        port = free_port()
        server_env = {**production_env(env, work / "static"), "SECRET_KEY": env["SECRET_KEY"]}
        server = start_gunicorn(
            port, server_env, work / "server.log",
            workers=args.workers, threads=args.threads, access_log=access_log,
        )  # fmt: skip
        print(
            f"load bench: gunicorn {args.workers} workers x {args.threads} threads, DEBUG off,"
            f" PostgreSQL, Redis broker; {os.cpu_count()} cores (shared with the client);"
            f" {args.images} radiographs (768x512, 12 bits) per study; {args.duration:g} s per N"
        )
        for n in args.raters:
            study_id, keys = _study_with_raters(dataset_id, n)
            offset = access_log.stat().st_size if access_log.exists() else 0
            tally, elapsed = _drive(port, study_id, keys, args.duration, args.dwell_ms)
            time.sleep(0.5)  # gunicorn writes its access log after the response
            server_ms = _server_times(access_log, offset)
            rate = len(tally.submit_ms) / max(elapsed, 1e-9)
            results.append((n, rate, _pct(tally.submit_ms, 0.99)))
            errors = ", ".join(f"{k}: {v}" for k, v in sorted(tally.errors.items())) or "none"
            print(f"N={n:4d}: {len(tally.submit_ms)} ratings in {elapsed:.1f} s = {rate:.1f}/s")
            print(f"    submit (client) {_line(tally.submit_ms)}")
            print(f"    submit (server) {_line(server_ms['submit'])}")
            print(f"    open   (client) {_line(tally.open_ms)}; server p50 "
                  f"{_pct(server_ms['open'], 0.5):.1f} ms")  # fmt: skip
            print(f"    file   (client) {_line(tally.file_ms)}; server p50 "
                  f"{_pct(server_ms['file'], 0.5):.1f} ms")  # fmt: skip
            print(f"    errors: {errors}" + (
                f"; {tally.exhausted} raters finished their worklist early"
                if tally.exhausted else ""
            ))  # fmt: skip
    finally:
        if server is not None:
            stop(server)
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            _recreate_database(args.database_url, drop_only=True)
        _empty_queues(args.broker, prefix)
        shutil.rmtree(work, ignore_errors=True)
    n_target, rate_target, p99_target = TARGET
    for n, rate, p99 in results:
        if n == n_target:
            ok = rate >= rate_target and p99 <= p99_target
            print(
                f"target at {n} raters: >= {rate_target:g} ratings/s with p99 <= {p99_target:g} ms:"
                f" {'met' if ok else 'NOT met'} ({rate:.1f}/s, p99 {p99:.1f} ms)"
            )
    print(
        "where the time goes: 'submit (server)' is gunicorn's own time per request; the rest of"
        " the client's latency is the wait for a free worker thread (and the client's own CPU);"
        " --profile shows one submission's queries and Python time."
    )


def _empty_queues(broker: str, prefix: str) -> None:
    """Remove this run's Celery queues (tasks a submission enqueued that no worker ran)."""
    try:
        import redis

        client = redis.Redis.from_url(broker)
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
    except Exception as exc:  # noqa: BLE001 - cleaning up; the figures are printed already
        print(f"(could not empty the bench's queues: {exc})")


if __name__ == "__main__":
    main()
