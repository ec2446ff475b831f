"""manage.py export_ratings STUDY: the long-format ratings as CSV or JSON, to a file or stdout."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ratings.results.lookup import study_from_cli
from ratings.results.ratings_export import ExportFormat, write_ratings


class Command(BaseCommand):
    help = (
        "Write one row per submitted rating (pseudonyms, image labels, timing); the CSV can be "
        "read back by import_ratings."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("study", help="reader study name or id")
        parser.add_argument("--format", choices=ExportFormat.values, default=ExportFormat.CSV)
        parser.add_argument("-o", "--output", default="-", help="file to write, '-' for stdout")

    def handle(self, *args: Any, **options: Any) -> None:
        study = study_from_cli(options["study"])
        path = options["output"]
        if path == "-":
            self.stdout.flush()
            rows = write_ratings(study, sys.stdout.buffer, options["format"])
            sys.stdout.buffer.flush()
        else:
            partial = f"{path}.part"
            try:
                with open(partial, "wb") as out:
                    rows = write_ratings(study, out, options["format"])
                os.replace(partial, path)
            except OSError as error:
                raise CommandError(f"cannot write {path}: {error}") from error
        self.stderr.write(f"exported {rows} ratings of {study.name!r}")
