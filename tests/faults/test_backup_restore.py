"""Backup and restore as the README says: `pg_dump -Fc` of the database (SQLite: its online
backup) and a tar of MEDIA_ROOT, restored into a fresh database and folder; the app run against
the copy (same DEID_SECRET) finds every rating and every file, each with its checksum, and still
knows the files it has."""

import json
import os
import secrets
import sqlite3
import subprocess
import sys
import tarfile
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from django.conf import settings

from imaging.ingest import ingest_paths
from imaging.models import ImageFile
from ratings.models import Rating, ReaderStudy, StudyImage
from tests.deployed import ROOT
from tests.factories import make_dataset, names, rate

from .private_pg import pg_tool
from .test_worker_killed import dicom_files

pytestmark = pytest.mark.faults

# Run by the restored app (manage.py shell): what it finds, as JSON on stdout.
CHECK = """
import hashlib, json
from pathlib import Path
from django.conf import settings
from imaging.ingest import ingest_paths
from imaging.models import Dataset, ImageFile
from ratings.models import Rating
media = Path(settings.MEDIA_ROOT)
files = {f.file.name: (f.sha256, hashlib.sha256((media / f.file.name).read_bytes()).hexdigest()
         if (media / f.file.name).is_file() else None) for f in ImageFile.objects.all()}
ratings = sorted([str(r.assessment.client_id), r.dimension.key, r.value]
                 for r in Rating.objects.select_related("assessment", "dimension"))
again = ingest_paths(Dataset.objects.get(pk=DATASET), [SOURCE], workers=1)
print(json.dumps({"files": files, "ratings": ratings,
                  "again": [o.reason_code for o in again.outcomes]}))
"""


def _db_args(db: dict) -> list[str]:
    return ["-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432), "-U", db["USER"]]


@contextmanager
def backed_up_database(tmp_path):
    """Back the test database up and restore it into a fresh one (as the README says);
    yields the restored database's URL, dropped afterwards."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        # SQLite's online backup (the `.backup` of the sqlite3 shell): a consistent copy.
        restored = tmp_path / "restored.sqlite3"
        with (
            closing(sqlite3.connect(db["NAME"])) as source,
            closing(sqlite3.connect(restored)) as copy,
        ):
            source.backup(copy)
        yield f"sqlite:///{restored}"
        return
    dump = tmp_path / "iqa.dump"
    subprocess.run(
        [pg_tool("pg_dump"), "-Fc", *_db_args(db), "-f", str(dump), db["NAME"]],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    restored = f"iqa_restore_{secrets.token_hex(4)}"
    subprocess.run([pg_tool("createdb"), *_db_args(db), restored], check=True, timeout=60)
    try:
        subprocess.run(
            [pg_tool("pg_restore"), "--no-owner", *_db_args(db), "-d", restored, str(dump)],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        yield (
            f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{restored}"
        )
    finally:
        subprocess.run([pg_tool("dropdb"), *_db_args(db), "--if-exists", restored], timeout=60)


def test_a_backup_restored_into_a_fresh_database_has_every_rating_and_file(
    transactional_db, people, tmp_path
):
    # A study with DICOM files (imported for real) and ratings.
    dataset = make_dataset(n_images=0)
    sources = tmp_path / "sources"
    sources.mkdir()
    for upload in dicom_files(5):
        (sources / upload.name).write_bytes(upload.read())
    report = ingest_paths(dataset, [sources], workers=1)
    assert len(report.outcomes) == 5 and all(o.status == "imported" for o in report.outcomes)
    study = ReaderStudy.objects.create(name="backup", dataset=dataset)
    from demo.seeding import chest_paper_dimensions

    chest_paper_dimensions(study)
    for image in dataset.images.all():
        StudyImage.objects.create(study=study, image=image)
        for name, value in ((names.RATER, 7), (names.RATER2, 4)):
            rate(study, people[name], image, {"gray-level": value, "sharpness": 5, "acceptable": 1})
    expected_ratings = sorted(
        [str(r.assessment.client_id), r.dimension.key, r.value]
        for r in Rating.objects.select_related("assessment", "dimension")
    )
    expected_files = {f.file.name: f.sha256 for f in ImageFile.objects.all()}
    assert len(expected_ratings) == 3 * 2 * dataset.images.count() and len(expected_files) == 5

    # Back up: the database, then the media folder (README, "Backup and restore").
    media_tar = tmp_path / "media.tar.gz"
    with backed_up_database(tmp_path) as restored_url:
        with tarfile.open(media_tar, "w:gz") as tar:
            tar.add(settings.MEDIA_ROOT, arcname="media")
        # Restore the files into a fresh folder; the database was restored into a fresh one.
        target = tmp_path / "restored"
        with tarfile.open(media_tar) as tar:
            tar.extractall(target, filter="data")
        env = dict(
            os.environ,
            DATABASE_URL=restored_url,
            MEDIA_ROOT=str(target / "media"),
            DEID_SECRET=settings.DEID_SECRET,  # the same secret: pseudonyms and duplicates hold
        )
        code = CHECK.replace("DATASET", str(dataset.pk)).replace(
            "SOURCE", repr(str(next(sources.iterdir())))
        )
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        found = json.loads(result.stdout.strip().splitlines()[-1])

    assert found["ratings"] == expected_ratings
    assert {name: stored for name, (stored, _) in found["files"].items()} == expected_files
    assert all(stored == on_disk for stored, on_disk in found["files"].values()), (
        "a restored file differs from its checksum"
    )
    # The restored app knows the files it has: importing one again is refused as a duplicate
    # (which needs the same DEID_SECRET: the duplicate check is keyed by it).
    assert found["again"] == ["duplicate"]
    assert not list(Path(target / "media").rglob(".staging-*"))
