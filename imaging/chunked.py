"""Resumable uploads in chunks: a session names its files, chunks land at offsets, finish queues.

A browser sending 2 GB over a flaky connection must not start again from zero: every chunk says
where it goes (`offset`), a chunk sent twice (a retry after a lost answer) overwrites the same
bytes, and the session reports how much of each file has arrived, so a client resumes from
there. Sessions live on disk under UPLOAD_ROOT/sessions/<id>/ (no table): `session.json` beside
a `files/` folder that becomes the ingest job's upload folder when the session finishes.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils.text import get_valid_filename

from imaging.models import Dataset, IngestJob

CHUNK_BYTES = 4 * 1024 * 1024  # under DATA_UPLOAD_MAX_MEMORY_SIZE (10 MB) with room to spare
MAX_FILES = 100_000
# An unfinished upload untouched this long is abandoned: its bytes go when a new one starts.
ABANDONED_AFTER_S = 7 * 24 * 3600


class UploadError(ValueError):
    """A request the session cannot take; the message says what to do (a 400)."""


class UploadConflict(UploadError):
    """A chunk that does not continue the file (a 409 with the bytes received so far)."""

    def __init__(self, message: str, received: int):
        super().__init__(message)
        self.received = received


@dataclass
class UploadSession:
    id: str
    dataset_id: int
    user_id: int
    allow_burned_in: bool
    files: list[dict] = field(default_factory=list)  # {"name", "size", "stored"}
    job_id: int | None = None

    @property
    def folder(self) -> Path:
        return sessions_root() / self.id

    def path_of(self, index: int) -> Path:
        return self.folder / "files" / self.files[index]["stored"]

    def received(self, index: int) -> int:
        path = self.path_of(index)
        return path.stat().st_size if path.exists() else 0

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "dataset": self.dataset_id,
            "allow_burned_in": self.allow_burned_in,
            "chunk_bytes": CHUNK_BYTES,
            "job": self.job_id,
            "files": [
                {"index": i, "name": f["name"], "size": f["size"], "received": self.received(i)}
                for i, f in enumerate(self.files)
            ],
        }

    def save(self) -> None:
        partial = self.folder / "session.json.part"
        partial.write_text(json.dumps(asdict(self)))
        os.replace(partial, self.folder / "session.json")


def sessions_root() -> Path:
    return Path(settings.UPLOAD_ROOT) / "sessions"


def create_session(dataset: Dataset, user, files: list, allow_burned_in: bool) -> UploadSession:
    """A session for files given as [{"name": str, "size": int}]; checks the total size."""
    if not isinstance(files, list) or not files:
        raise UploadError('Name one or more files: [{"name": ..., "size": ...}].')
    if len(files) > MAX_FILES:
        raise UploadError(f"At most {MAX_FILES} files per upload; split it into several.")
    entries = []
    for i, item in enumerate(files):
        if not isinstance(item, dict):
            raise UploadError(f"files[{i}] must be an object with name and size.")
        name, size = item.get("name"), item.get("size")
        if not isinstance(name, str) or not name.strip():
            raise UploadError(f"files[{i}].name must be a file name.")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise UploadError(f"files[{i}].size must be a byte count (an integer >= 0).")
        # Folder uploads give paths ("scan/IM0001"); only a safe last part is kept on disk.
        safe = get_valid_filename(Path(name.replace("\\", "/")).name) or "file"
        entries.append({"name": name[:500], "size": size, "stored": f"{i:06d}-{safe}"})
    total = sum(e["size"] for e in entries)
    if total > settings.IQA_MAX_UPLOAD_BYTES:
        raise UploadError(
            f"The upload is {total} bytes; the limit is {settings.IQA_MAX_UPLOAD_BYTES}. "
            "Split it into several uploads."
        )
    prune_abandoned()
    session = UploadSession(uuid.uuid4().hex, dataset.pk, user.pk, bool(allow_burned_in), entries)
    (session.folder / "files").mkdir(parents=True)
    session.save()
    return session


def load_session(session_id: str, user) -> UploadSession | None:
    """The user's session, or None (unknown id, or another user's: the same answer)."""
    if not (isinstance(session_id, str) and len(session_id) == 32 and session_id.isalnum()):
        return None
    path = sessions_root() / session_id / "session.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    session = UploadSession(**data)
    return session if session.user_id == user.pk else None


def write_chunk(session: UploadSession, index: int, offset: int, data: bytes) -> int:
    """Write a chunk at `offset` of file `index`; returns the bytes of that file received.

    A chunk may start anywhere up to what has arrived (so a retried chunk is harmless), never
    beyond it (that would leave a hole), and may not run past the declared size.
    """
    if session.job_id is not None:
        raise UploadError("This upload is finished; start a new one.")
    if not 0 <= index < len(session.files):
        raise UploadError(f"No file {index} in this upload (0..{len(session.files) - 1}).")
    size = session.files[index]["size"]
    received = session.received(index)
    if offset < 0 or offset > received:
        raise UploadConflict(
            f"A chunk at {offset} would leave a gap; {received} bytes have arrived.", received
        )
    if offset + len(data) > size:
        raise UploadError(f"The chunk runs past the file's declared size of {size} bytes.")
    path = session.path_of(index)
    with open(path, "r+b" if path.exists() else "wb") as out:
        out.seek(offset)
        out.write(data)
    return max(received, offset + len(data))


def finish(session: UploadSession, user) -> IngestJob:
    """Queue the import of a complete upload; finishing again returns the same job."""
    from .ingest_jobs import start_job_for_folder

    if session.job_id is not None:
        return IngestJob.objects.get(pk=session.job_id)
    missing = [f["name"] for i, f in enumerate(session.files) if session.received(i) != f["size"]]
    if missing:
        raise UploadError(f"{len(missing)} file(s) are not complete yet, e.g. {missing[0]}.")
    dataset = Dataset.objects.get(pk=session.dataset_id)
    with transaction.atomic():
        job = start_job_for_folder(
            dataset,
            session.folder / "files",
            len(session.files),
            user,
            allow_burned_in=session.allow_burned_in,
        )
        session.job_id = job.pk
        session.save()
    return job


def prune_abandoned(now: float | None = None) -> int:
    """Remove unfinished sessions whose last chunk is older than ABANDONED_AFTER_S."""
    now = time.time() if now is None else now
    removed = 0
    for meta in sessions_root().glob("*/session.json") if sessions_root().is_dir() else []:
        folder = meta.parent
        try:
            if json.loads(meta.read_text()).get("job_id") is not None:
                continue  # finished: the ingest job owns (and removes) its files
            latest = max(p.stat().st_mtime for p in [meta, *folder.rglob("*")])
        except (OSError, ValueError):
            continue
        if now - latest > ABANDONED_AFTER_S:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def discard(session: UploadSession) -> None:
    """Drop an unfinished session and what it received."""
    if session.job_id is None:
        shutil.rmtree(session.folder, ignore_errors=True)
