"""Import DICOM files, folders and zip archives into a dataset, with a progress bar."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from imaging.ingest import ingest_paths
from imaging.models import Dataset


class Command(BaseCommand):
    help = "Import DICOM files (files, folders, zip archives) into a dataset, de-identified."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="Files, folders or zip archives.")
        parser.add_argument("--dataset", required=True, help="Dataset name (created if new).")
        parser.add_argument("--workers", type=int, default=None, help="Processes (default: cores).")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")
        parser.add_argument(
            "--allow-burned-in",
            action="store_true",
            help="Also import images that may carry burned-in text (ultrasound, screen "
            "captures...) - only after checking their pixels identify no one.",
        )

    def handle(self, *args, paths, dataset, workers, no_progress, allow_burned_in, **options):
        if workers is not None and workers < 1:
            raise CommandError("--workers must be at least 1")
        target, created = Dataset.objects.get_or_create(name=dataset)
        bar = tqdm(total=0, unit="file", disable=no_progress, file=self.stderr._out)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            report = ingest_paths(
                target, paths, progress=progress, workers=workers, allow_burned_in=allow_burned_in
            )
        finally:
            bar.close()
        summary = report.summary()
        self.stdout.write(
            f"{'Created' if created else 'Dataset'} {target.name!r}: "
            f"{summary['imported']} imported, {summary['skipped']} skipped, "
            f"{summary['images_created']} new images."
        )
        for outcome in report.outcomes:
            if outcome.status == "skipped":
                self.stdout.write(f"  skipped {outcome.name}: {outcome.reason}")
