"""manage.py train: a training run of one architecture on one dimension, with a progress bar."""

from __future__ import annotations

import json
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from tqdm import tqdm

from inference.models import Architecture, Target, TrainingRun
from inference.runs import RunRejected, RunRequest, create_run, run_training
from iqa_platform.jobs import FINISHED
from ratings.models import Split
from ratings.results.lookup import study_from_cli


def input_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise CommandError(f"--input-size: WIDTHxHEIGHT, e.g. 512x768 (got {text!r})") from None
    return width, height


class Command(BaseCommand):
    help = (
        "Train a model on a study's expert labels (the split defaults to the study's most recent "
        "one) and print its validation and test metrics; --json prints them as one JSON line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--study", required=True, help="reader study name or id")
        parser.add_argument("--dimension", required=True, help="dimension key")
        parser.add_argument("--arch", required=True, choices=Architecture.values)
        parser.add_argument("--target", choices=Target.values)
        parser.add_argument("--input-size", type=input_size, help="WIDTHxHEIGHT, e.g. 512x768")
        parser.add_argument("--epochs", type=int)
        parser.add_argument("--batch-size", type=int)
        parser.add_argument("--lr", type=float)
        parser.add_argument("--seed", type=int)
        parser.add_argument("--split", type=int, help="split id (default: the latest)")
        parser.add_argument("--hold-out-by", choices=["site", "manufacturer"], default="")
        parser.add_argument("--hold-out", nargs="*", default=[], help="sites / manufacturers")
        parser.add_argument("--json", action="store_true", help="the result as JSON (last line)")

    def handle(self, *args: Any, **options: Any) -> None:
        study = study_from_cli(options["study"])
        split = None
        if options["split"] is not None:
            split = Split.objects.filter(pk=options["split"], study=study).first()
            if split is None:
                raise CommandError(f"--split: no split {options['split']} in this study")
        settings: dict[str, Any] = {
            "epochs": options["epochs"],
            "batch_size": options["batch_size"],
            "lr": options["lr"],
            "seed": options["seed"],
        }
        if options["input_size"]:
            settings["input_width"], settings["input_height"] = options["input_size"]
        request = RunRequest(
            study=study,
            dimension_key=options["dimension"],
            arch=options["arch"],
            target=options["target"],
            split=split,
            hold_out_by=options["hold_out_by"],
            hold_out=tuple(options["hold_out"]),
            settings={k: v for k, v in settings.items() if v is not None},
        )
        try:
            run = create_run(request, queue=False)
        except RunRejected as exc:
            raise CommandError(
                "\n".join(f"{field}: {p}" for field, ps in exc.problems.items() for p in ps)
            ) from None
        self._run_with_progress(run, quiet=options["json"])
        run.refresh_from_db()
        result = {
            "run": run.pk,
            "status": run.status,
            "model_version": getattr(getattr(run, "model_version", None), "pk", None),
            "metrics": {k: run.metrics.get(k) for k in ("validation", "test", "out_of_site")},
            "error": run.error or None,
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            for part, values in result["metrics"].items():
                if values:
                    self.stdout.write(f"{part}: {json.dumps(values)}")
            self.stdout.write(
                f"run {run.pk}: {run.status}; model version {result['model_version']}"
            )
        if run.status != "succeeded":
            raise CommandError(f"run {run.pk} {run.status}: {run.error}")

    def _run_with_progress(self, run: TrainingRun, quiet: bool) -> None:
        """Train in this process while a thread draws the run's progress from its row."""
        done = threading.Event()

        def draw() -> None:
            with tqdm(total=100, unit="%", disable=quiet, file=self.stderr) as bar:
                while not done.wait(1.0):
                    row = TrainingRun.objects.filter(pk=run.pk).values().first()
                    bar.n = round(100 * row["progress"])
                    speed = row["images_per_s"]
                    bar.set_postfix_str(
                        f"epoch {row['epoch']}/{row['n_epochs']}"
                        + (f", {speed:.1f} img/s" if speed else ""),
                        refresh=True,
                    )
                    if row["status"] in FINISHED:
                        break
            connection.close()

        drawer = threading.Thread(target=draw, daemon=True)
        drawer.start()
        try:
            run_training(run.pk)
        finally:
            done.set()
            drawer.join()
