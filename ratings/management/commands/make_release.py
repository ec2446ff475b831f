"""manage.py make_release STUDY: freeze the next dataset release and build its zip."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ratings.models import ImageFormat, Split
from ratings.results.jobs import ExportParamsError
from ratings.results.lookup import study_from_cli
from ratings.results.release import (
    build_zip,
    clean_release_params,
    create_release,
    release_zip_path,
)


class Command(BaseCommand):
    help = (
        "Freeze the study's current labels as a new release version and write its zip "
        "(de-identified DICOM or PNG, labels.csv, README data card, SHA256SUMS); prints the path."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("study", help="reader study name or id")
        parser.add_argument("--split", type=int, help="id of a split (see make_split)")
        parser.add_argument("--format", choices=ImageFormat.values, default=ImageFormat.DICOM)
        parser.add_argument("--png-size", type=int, help="longest side of PNG images")

    def handle(self, *args: Any, **options: Any) -> None:
        study = study_from_cli(options["study"])
        params: dict[str, Any] = {"image_format": options["format"]}
        if options["split"] is not None:
            params["split"] = options["split"]
        if options["png_size"] is not None:
            params["png_size"] = options["png_size"]
        try:
            cleaned = clean_release_params(study, params)
        except ExportParamsError as error:
            raise CommandError(str(error)) from error
        split = Split.objects.filter(pk=cleaned["split"]).first()
        release = create_release(study, split, cleaned["image_format"], cleaned["png_size"])
        release = build_zip(release)
        self.stderr.write(
            f"release v{release.version} of {study.name!r}: {release.size_bytes} bytes, "
            f"sha256 {release.sha256}"
        )
        self.stdout.write(str(release_zip_path(release)))
