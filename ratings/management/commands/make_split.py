"""manage.py make_split STUDY: a stored, reproducible train/val/test split grouped by patient."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ratings.models import StratifyBy
from ratings.results.lookup import study_from_cli
from ratings.results.splits import SplitError, make_split


class Command(BaseCommand):
    help = (
        "Assign the study's images to train / val / test with the given ratios, never splitting "
        "a patient, optionally stratified by MOS bins or majority labels; prints the split id."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("study", help="reader study name or id")
        parser.add_argument(
            "--ratios",
            nargs=3,
            type=float,
            default=[0.7, 0.15, 0.15],
            metavar=("TRAIN", "VAL", "TEST"),
        )
        parser.add_argument("--seed", type=int, required=True)
        parser.add_argument("--stratify", choices=StratifyBy.values, default=StratifyBy.NONE)
        parser.add_argument("--dimension", default="", help="dimension key to stratify by")
        parser.add_argument("--bins", type=int, default=3, help="MOS bins (equal width)")
        parser.add_argument("--name", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        study = study_from_cli(options["study"])
        try:
            split = make_split(
                study=study,
                ratios=options["ratios"],
                seed=options["seed"],
                stratify_by=options["stratify"],
                dimension=options["dimension"],
                n_bins=options["bins"],
                name=options["name"],
            )
        except SplitError as error:
            raise CommandError(str(error)) from error
        counts = split.summary["n_images"]
        patients = split.summary["n_patients"]
        self.stderr.write(
            "images "
            + ", ".join(f"{k} {v}" for k, v in counts.items())
            + "; patients "
            + ", ".join(f"{k} {v}" for k, v in patients.items())
        )
        self.stdout.write(str(split.pk))
