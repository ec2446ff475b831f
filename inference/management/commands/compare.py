"""manage.py compare: the model-versus-expert report of a model version or of a pairs CSV."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inference.compare import CompareError, version_report
from inference.models import ModelVersion
from ratings.results.lookup import study_from_cli
from ratings.stats.compare import PairsError, compare, pairs_from_csv


class Command(BaseCommand):
    help = (
        "Model versus expert: paired t-test, ICC, Pearson r, MAD, RMSE, MAPE, Bland-Altman, ROC "
        "(Hanley-McNeil SE, Youden cutoff) and the same per subgroup. Either --csv FILE "
        "(image,model,expert[,label][,subgroup columns]; needs no database rows) or "
        "--model-version ID (its predictions against a study's expert labels)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--csv", dest="csv_path", help="pairs CSV file, '-' for stdin")
        parser.add_argument("--model-version", type=int)
        parser.add_argument("--study", help="reader study name or id (default: the version's)")
        parser.add_argument("--dimension", help="dimension key (default: the version's)")
        parser.add_argument("--split-part", choices=["train", "val", "test"], default="")
        parser.add_argument(
            "--label-dimension", help="binary dimension whose majority is the ROC label"
        )
        parser.add_argument(
            "--threshold", type=float, help="score at or above which an image is called positive"
        )
        parser.add_argument("--json", action="store_true", help="print the full JSON report")
        parser.add_argument("--indent", type=int, default=None, help="JSON indentation")

    def handle(self, *args: Any, **options: Any) -> None:
        if bool(options["csv_path"]) == bool(options["model_version"]):
            raise CommandError("give either --csv FILE or --model-version ID, not both / neither")
        if options["csv_path"]:
            report = self._csv_report(options["csv_path"], options["threshold"])
        else:
            report = self._version_report(options)
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=options["indent"], allow_nan=False))
        else:
            self._summary(report)

    def _csv_report(self, path: str, threshold: float | None) -> dict[str, Any]:
        try:
            table = pairs_from_csv(sys.stdin if path == "-" else path)
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error}") from error
        except PairsError as error:
            raise CommandError(f"{path}: {error}") from error
        return compare(
            table.model,
            table.expert,
            images=table.images,
            labels=table.labels,
            roc_scores=table.roc_scores,
            subgroups=table.subgroups,
            threshold=threshold,
        )

    def _version_report(self, options: dict[str, Any]) -> dict[str, Any]:
        version = ModelVersion.objects.filter(pk=options["model_version"]).first()
        if version is None:
            raise CommandError(f"no model version {options['model_version']}")
        study = study_from_cli(options["study"]) if options["study"] else version.study
        try:
            return version_report(
                version,
                study,
                options["dimension"],
                options["split_part"],
                options["label_dimension"],
                options["threshold"],
            )
        except CompareError as error:
            raise CommandError(str(error)) from error

    def _summary(self, report: dict[str, Any]) -> None:
        paired, ba = report["paired"], report["bland_altman"]
        icc2 = report["icc"]["ICC2"]
        self.stdout.write(
            f"n {report['n']}: mean difference (model - expert) {_fmt(paired['mean_diff'])} "
            f"[{_fmt(paired['mean_diff_ci95'][0])}, {_fmt(paired['mean_diff_ci95'][1])}], "
            f"t {_fmt(paired['t'])}, p {_fmt(paired['p'])}"
        )
        self.stdout.write(
            f"ICC(A,1) {_fmt(icc2['value'])}, r {_fmt(paired['pearson_r'])}, "
            f"MAD {_fmt(paired['mad'])}, RMSE {_fmt(paired['rmse'])}, MAPE {_fmt(paired['mape'])}%"
        )
        self.stdout.write(f"limits of agreement {_fmt(ba['loa'][0])} to {_fmt(ba['loa'][1])}")
        if report["roc"]:
            roc, youden = report["roc"], report["roc"]["youden"]
            self.stdout.write(
                f"AUC {_fmt(roc['auc'])} (SE {_fmt(roc['auc_se'])}), Youden cutoff "
                f"{_fmt(youden['threshold'])}: sensitivity {_fmt(youden['sensitivity'])}, "
                f"specificity {_fmt(youden['specificity'])}"
            )
        timing = report.get("timing")
        if timing:
            self.stdout.write(f"model: {_fmt(timing['model_s_per_image'])} s per image")
            for group, row in timing["experts"].items():
                self.stdout.write(
                    f"experts ({group}): median {_fmt(row['median_s'])} s per image "
                    f"[IQR {_fmt(row['q1_s'])} - {_fmt(row['q3_s'])}], {row['n']} readings"
                )
        for key, groups in report["subgroups"].items():
            for value, block in groups.items():
                self.stdout.write(
                    f"  {key}={value}: n {block['n']}, mean difference "
                    f"{_fmt(block['paired']['mean_diff'])}, MAD {_fmt(block['paired']['mad'])}"
                )


def _fmt(value: float | None) -> str:
    return "null" if value is None else f"{value:.3f}"
