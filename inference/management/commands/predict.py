"""manage.py predict: score a study's images with a model version, one CSV row per image
(--stored: the predictions the version's inference jobs stored, nothing computed)."""

from __future__ import annotations

import csv
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inference.models import ModelVersion, Prediction, Target
from inference.predict import Prediction as Live
from inference.predict import predict_study
from ratings.results.csv_cells import safe_row
from ratings.results.lookup import study_from_cli
from ratings.results.splits import split_subsets


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
        parser.add_argument(
            "--stored",
            action="store_true",
            help="print the stored predictions (inference jobs) instead of computing them",
        )

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
            rows = (
                stored_predictions(version, study, options["split_part"])
                if options["stored"]
                else predict_study(version, study, options["split_part"])
            )
            for p in rows:
                prediction = classes[int(p.score)] if classes else round(p.score, 4)
                probabilities = [round(v, 4) for v in (p.probabilities or [])]
                uncertainty = "" if p.uncertainty is None else round(p.uncertainty, 4)
                writer.writerow(safe_row([p.label, prediction, *probabilities, uncertainty]))
        finally:
            if out is not sys.stdout:
                out.close()


def stored_predictions(version: ModelVersion, study, part: str = ""):
    """The version's stored predictions of the study's images (one part of its split), in
    image order, shaped as live ones; images not scored yet are left out."""
    parts = split_subsets(version.split) if part and version.split is not None else {}
    stored = (
        Prediction.objects.filter(model_version=version, image__study_images__study=study)
        .select_related("image")
        .order_by("image_id")
    )
    for p in stored:
        if part and parts.get(p.image_id) != part:
            continue
        label = p.image.label or str(p.image_id)
        yield Live(p.image_id, label, p.score, p.probabilities, p.uncertainty)
