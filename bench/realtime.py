"""Benchmark: real-time QC, from a radiograph arriving to its stored prediction, end to end.

Each arrival is one 768x512 radiograph uploaded through the real upload API (in process) into a
dataset whose study has an active CaHDC-RGA version at 768x512 (untrained weights: the time
does not depend on them). A real Celery worker (started here, as `make run` starts one: prefork,
concurrency 1, every queue) imports it (ingest queue), the import's commit queues an inference
job (inference queue), and the job stores the Prediction. The clock runs from the POST to the
moment the Prediction row is visible in the database.

    python bench/realtime.py [--arrivals 10] [--database-url ...] [--broker-url redis://...]

Everything lives in a temporary folder (database, media, broker) unless --database-url /
--broker-url name others. The first arrival warms the worker up (imports, model load) and is
not counted. The LAST line is the figure: p50 and p95 over the arrivals.
Target (issue 10): under 1 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_S = 1.0
SIZE = (512, 768)  # width x height: the chest paper's input, the radiograph's own size


def _environment(var_dir: Path, database_url: str | None, broker_url: str | None) -> dict:
    env = {
        "IQA_VAR_DIR": str(var_dir),
        "DJANGO_SETTINGS_MODULE": "iqa_platform.settings",
        "CELERY_QUEUE_PREFIX": f"bench-{os.getpid()}-",
        "PYTHONUNBUFFERED": "1",
    }
    if database_url:
        env["DATABASE_URL"] = database_url
    if broker_url:
        env["CELERY_BROKER_URL"] = broker_url
    os.environ.update(env)
    return {**os.environ, **env}


def _start_worker(env: dict, log: Path) -> subprocess.Popen:
    from iqa_platform.celery import all_queue_names

    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "iqa_platform", "worker",
             "-Q", ",".join(all_queue_names()), "--concurrency", "1", "--loglevel", "INFO",
             "--without-heartbeat", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 120
    while b"ready." not in log.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("celery worker did not start:\n" + log.read_text(errors="replace"))
        time.sleep(0.2)
    return proc


def _world(folder: Path):
    """A coordinator, a study on an empty dataset, an active CaHDC-RGA version at 768x512."""
    import hashlib

    import torch
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from imaging.models import Dataset
    from inference.models import ModelVersion, TrainingRun
    from inference.training.config import default_config
    from inference.training.engine import Checkpoint, make_model, save_checkpoint
    from iqa_platform.jobs import JobStatus
    from ratings.models import Membership, ReaderStudy, Role

    user = get_user_model().objects.create_user(f"bench-{time.time_ns()}", is_staff=False)
    dataset = Dataset.objects.create(name=f"bench-realtime-{time.time_ns()}")
    study = ReaderStudy.objects.create(name=dataset.name, dataset=dataset)
    Membership.objects.create(user=user, study=study, role=Role.COORDINATOR)
    config = default_config("cahdc-rga", input_width=SIZE[0], input_height=SIZE[1])
    torch.manual_seed(0)
    run = TrainingRun.objects.create(
        study=study, dimension_key="gray-level", target="regression", arch="cahdc-rga",
        config=config.to_dict(), status=JobStatus.SUCCEEDED,
    )  # fmt: skip
    path = Path(settings.MEDIA_ROOT) / "model_versions" / f"bench-{run.pk}.pt"
    save_checkpoint(path, Checkpoint(config=config, model=make_model(config)))
    version = ModelVersion.objects.create(
        run=run, study=study, dimension_key="gray-level", arch="cahdc-rga", target="regression",
        config=config.to_dict(), checkpoint=str(path.relative_to(settings.MEDIA_ROOT)),
        checkpoint_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        labels_fingerprint="0" * 64, is_active=True, qc_threshold=5.0,
    )  # fmt: skip
    return user, dataset, version


def _arrive(client, dataset, version, path: Path, timeout: float = 120.0):
    """Upload one file; wait for its prediction. Returns (seconds, breakdown)."""
    from imaging.models import IngestJob
    from inference.models import InferenceJob, Prediction

    before = Prediction.objects.filter(model_version=version).count()
    wall0, start = time.time(), time.perf_counter()
    with open(path, "rb") as handle:
        response = client.post(f"/api/v1/datasets/{dataset.pk}/uploads/", {"files": [handle]})
    if response.status_code != 202:
        raise SystemExit(f"upload refused: {response.status_code} {response.content[:300]!r}")
    deadline = start + timeout
    while Prediction.objects.filter(model_version=version).count() <= before:
        if time.perf_counter() > deadline:
            raise SystemExit(f"no prediction after {timeout:.0f} s: is the worker alive?")
        time.sleep(0.005)
    elapsed = time.perf_counter() - start
    prediction = Prediction.objects.filter(model_version=version).order_by("-id").first()
    ingest = IngestJob.objects.get(pk=response.json()["id"])
    job = InferenceJob.objects.get(pk=prediction.job_id)

    def since(stamp):
        return stamp.timestamp() - wall0 if stamp else float("nan")

    return elapsed, {
        "ingest claimed": since(ingest.started_at),
        "import job queued": since(job.created_at),
        "inference claimed": since(job.started_at),
        "model": prediction.seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arrivals", type=int, default=10)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--broker-url", default=None)
    args = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="bench-realtime-"))
    env = _environment(var_dir, args.database_url, args.broker_url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from demo.synthetic.generate import generate_chest_dataset

    call_command("migrate", verbosity=0)
    worker = None
    try:
        files = sorted(
            g.path
            for g in generate_chest_dataset(
                var_dir / "incoming", args.arrivals + 1, seed=900, unique_uids=True
            )
        )
        user, dataset, version = _world(var_dir)
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        worker = _start_worker(env, var_dir / "worker.log")
        from django.conf import settings

        print(f"database {connection.vendor}, broker {settings.CELERY_BROKER_URL.split(':')[0]}, "
              f"{os.cpu_count()} cores; CaHDC-RGA at {SIZE[0]}x{SIZE[1]}, one 768x512 radiograph "
              "per arrival", flush=True)  # fmt: skip
        warm, _ = _arrive(client, dataset, version, files[0], timeout=300)
        print(f"warm-up arrival (worker imports, model load): {warm:.3f} s", flush=True)
        times = []
        print(f"{'arrival':>7} {'total s':>8} {'ingest claimed':>15} {'inference queued':>17} "
              f"{'inference claimed':>18} {'model s':>8}")  # fmt: skip
        for index, path in enumerate(files[1:], start=1):
            elapsed, parts = _arrive(client, dataset, version, path)
            times.append(elapsed)
            print(f"{index:>7} {elapsed:>8.3f} {parts['ingest claimed']:>15.3f} "
                  f"{parts['import job queued']:>17.3f} {parts['inference claimed']:>18.3f} "
                  f"{parts['model']:>8.3f}", flush=True)  # fmt: skip
            time.sleep(0.2)  # arrivals apart: each one is measured on an idle worker
        p50 = statistics.median(times)
        p95 = statistics.quantiles(times, n=20, method="inclusive")[-1] if len(times) > 1 else p50
        verdict = "met" if p95 < TARGET_S else "MISSED"
        print(f"realtime QC: radiograph arrival -> stored prediction p50 {p50:.3f} s, "
              f"p95 {p95:.3f} s over {len(times)} arrivals (CaHDC-RGA 768x512; target < "
              f"{TARGET_S:g} s: {verdict})", flush=True)  # fmt: skip
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
