"""Import DICOM files, folders and zip archives into a dataset, with a progress bar."""

from contextlib import ExitStack

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from imaging.ingest import ingest_paths
from imaging.manifest import manifest_rows, write_manifest
from imaging.models import Dataset


class Command(BaseCommand):
    help = "Import DICOM files (files, folders, zip archives) into a dataset, de-identified."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="Files, folders or zip archives.")
        parser.add_argument("--dataset", required=True, help="Dataset name (created if new).")
        parser.add_argument("--workers", type=int, default=None, help="Processes (default: cores).")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")
        parser.add_argument(
            "--manifest",
            help="Write a CSV here: one row per input file (path, status, reason, image label). "
            "For you only - the platform never keeps it, as paths may carry names.",
        )
        parser.add_argument(
            "--allow-burned-in",
            action="store_true",
            help="Also import images that may carry burned-in text (ultrasound, screen "
            "captures...) - only after checking their pixels identify no one.",
        )

    def handle(
        self, *args, paths, dataset, workers, no_progress, allow_burned_in, manifest, **options
    ):
        if workers is not None and workers < 1:
            raise CommandError("--workers must be at least 1")
        with ExitStack() as stack:
            # Opened first: an unwritable manifest should stop the import before it starts.
            out = stack.enter_context(_open_for_writing(manifest)) if manifest else None
            target, created = Dataset.objects.get_or_create(name=dataset)
            report = self._ingest(target, paths, workers, no_progress, allow_burned_in)
            if out is not None:
                write_manifest(manifest_rows(report.outcomes, paths), out)
        summary = report.summary()
        self.stdout.write(
            f"{'Created' if created else 'Dataset'} {target.name!r}: "
            f"{summary['imported']} imported, {summary['skipped']} skipped, "
            f"{summary['images_created']} new images."
        )
        for outcome in report.outcomes:
            if outcome.status == "skipped":
                self.stdout.write(f"  skipped {outcome.name}: {outcome.reason}")

    def _ingest(self, target, paths, workers, no_progress, allow_burned_in):
        bar = tqdm(total=0, unit="file", disable=no_progress, file=self.stderr._out)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            return ingest_paths(
                target, paths, progress=progress, workers=workers, allow_burned_in=allow_burned_in
            )
        finally:
            bar.close()


def _open_for_writing(path: str):
    try:
        return open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115 (ExitStack closes it)
    except OSError as error:
        raise CommandError(f"cannot write {path}: {error}") from error
