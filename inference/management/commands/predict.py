"""manage.py predict: score a study's images with a model version, one CSV row per image."""

from __future__ import annotations

import csv
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inference.models import ModelVersion, Target
from inference.predict import predict_study
from ratings.results.csv_cells import safe_row
from ratings.results.lookup import study_from_cli


class Command(BaseCommand):
    help = (
        "Score every image of a study (or of one part of the version's split) with a model "
        "version: image,prediction (+ class probabilities, + uncertainty where the model has one)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model-version", type=int, required=True)
        parser.add_argument("--study", required=True, help="reader study name or id")
        parser.add_argument("--split-part", choices=["train", "val", "test"], default="")
        parser.add_argument("--csv", default="-", help="output file (default: standard output)")

    def handle(self, *args: Any, **options: Any) -> None:
        version = ModelVersion.objects.filter(pk=options["model_version"]).first()
        if version is None:
            raise CommandError(f"no model version {options['model_version']}")
        study = study_from_cli(options["study"])
        classes = []
        if version.target != Target.REGRESSION:
            dimension = study.dimensions.filter(key=version.dimension_key).first()
            if dimension is None:
                raise CommandError(f"the study has no dimension {version.dimension_key!r}")
            values = range(dimension.min_value, dimension.max_value + 1)
            classes = [dimension.value_label(v) for v in values]
        out = sys.stdout if options["csv"] == "-" else open(options["csv"], "w", newline="")  # noqa: SIM115
        try:
            writer = csv.writer(out)
            # Class labels were typed by a coordinator: neutralised as in every CSV we write.
            writer.writerow(
                safe_row(["image", "prediction", *(f"p_{c}" for c in classes), "uncertainty"])
            )
            for p in predict_study(version, study, options["split_part"]):
                prediction = classes[int(p.score)] if classes else round(p.score, 4)
                probabilities = [round(v, 4) for v in (p.probabilities or [])]
                uncertainty = "" if p.uncertainty is None else round(p.uncertainty, 4)
                writer.writerow(safe_row([p.label, prediction, *probabilities, uncertainty]))
        finally:
            if out is not sys.stdout:
                out.close()
