"""manage.py import_ratings STUDY FILE.csv: bring in ratings made elsewhere, all rows or none."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from imaging.manifest import ManifestError, read_manifest
from ratings.results.importer import ImportRejected, import_ratings
from ratings.results.lookup import study_from_cli

MAX_SHOWN = 200


class Command(BaseCommand):
    help = (
        "Import long-format ratings (image,rater,dimension,value[,duration_ms,repeat_index,group,"
        "opened_at,submitted_at,...]) into a reader study. Images by label or id, raters by "
        "pseudonym (unknown ones become raters who cannot log in). Every bad row is reported "
        "with its line number, and then nothing is imported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("study", help="reader study name or id")
        parser.add_argument("file", help="CSV file (UTF-8), '-' for stdin")
        parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")
        parser.add_argument(
            "--manifest",
            help="import_dicom's manifest: the image column may then hold a file's path in it",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        study = study_from_cli(options["study"])
        manifest = _manifest(options["manifest"]) if options["manifest"] else None
        path = options["file"]
        run = {"dry_run": options["dry_run"], "manifest": manifest}
        try:
            if path == "-":
                report = import_ratings(study, sys.stdin, **run)
            else:
                with open(path, newline="", encoding="utf-8-sig") as handle:
                    report = import_ratings(study, handle, **run)
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error}") from error
        except UnicodeDecodeError as error:
            raise CommandError(f"{path} is not UTF-8 text: {error}") from error
        except ImportRejected as rejected:
            for error in rejected.errors[:MAX_SHOWN]:
                self.stderr.write(str(error))
            if len(rejected.errors) > MAX_SHOWN:
                self.stderr.write(f"... and {len(rejected.errors) - MAX_SHOWN} more bad rows")
            raise CommandError(str(rejected)) from None
        verb = "would import" if options["dry_run"] else "imported"
        new = f" ({len(report.new_raters)} new: {', '.join(report.new_raters)})"
        self.stdout.write(
            f"{verb} {report.n_ratings} ratings in {report.n_readings} readings by "
            f"{len(report.raters)} raters{new if report.new_raters else ''} into {study.name!r}"
        )


def _manifest(path: str) -> dict:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return read_manifest(handle)
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error}") from error
    except (UnicodeDecodeError, ManifestError) as error:
        raise CommandError(f"{path}: {error}") from error
