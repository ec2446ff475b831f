"""manage.py agreement: the inter-rater agreement report of a CSV file or a reader study."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ratings.stats.records import RecordError, records_from_csv
from ratings.stats.report import agreement_report


class Command(BaseCommand):
    help = (
        "Print MOS, ICC, kappa, Krippendorff's alpha, Jaccard matrices and rater summaries. "
        "Either --csv FILE (long format: image,rater,dimension,value[,duration_ms,group]; "
        "needs no database rows) or a STUDY (name or id of a reader study)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("study", nargs="?", help="reader study name or id (reads the DB)")
        parser.add_argument("--csv", dest="csv_path", help="long-format CSV file, '-' for stdin")
        parser.add_argument("--json", action="store_true", help="print the full JSON report")
        parser.add_argument("--indent", type=int, default=None, help="JSON indentation")
        parser.add_argument(
            "--dimension", action="append", dest="dimensions", help="only this dimension (repeat)"
        )
        parser.add_argument(
            "--screen", action="store_true", help="drop BT.500-rejected raters from the MOS"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if bool(options["study"]) == bool(options["csv_path"]):
            raise CommandError("give either --csv FILE or a STUDY, not both / neither")
        try:
            if options["csv_path"]:
                report = agreement_report(
                    self._csv_records(options["csv_path"]),
                    options["dimensions"],
                    screen=options["screen"],
                )
            else:
                report = self._study_report(
                    options["study"], options["dimensions"], options["screen"]
                )
        except ValueError as error:
            raise CommandError(str(error)) from error
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=options["indent"], allow_nan=False))
        else:
            self._summary(report)

    def _csv_records(self, path: str) -> list[dict[str, Any]]:
        try:
            return records_from_csv(sys.stdin if path == "-" else path)
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error}") from error
        except RecordError as error:
            raise CommandError(f"{path}: {error}") from error

    def _study_report(
        self, study: str, dimensions: list[str] | None, screen: bool
    ) -> dict[str, Any]:
        """The same report as the results API: the study's ratings, categories in its order."""
        from ratings.models import ReaderStudy
        from ratings.results.study_data import study_report

        lookup = {"pk": int(study)} if study.isdigit() else {"name": study}
        try:
            found = ReaderStudy.objects.get(**lookup)
        except ReaderStudy.DoesNotExist:
            raise CommandError(f"no reader study {study!r}") from None
        report = study_report(found, dimensions, screen=screen)
        absent = sorted(set(dimensions or []) - set(report["dimensions"]))
        if absent:
            raise CommandError(f"no ratings for dimension(s) {', '.join(absent)}")
        return report

    def _summary(self, report: dict[str, Any]) -> None:
        for name, dim in report["dimensions"].items():
            self.stdout.write(
                f"{name} ({dim['kind']}): {dim['n_images']} images, {dim['n_raters']} raters, "
                f"{dim['n_images_complete']} rated by all"
            )
            if dim["icc"]:
                for key in ("ICC2", "ICC2k", "ICC3"):
                    row = dim["icc"][key]
                    self.stdout.write(
                        f"  {key} {row['name']}: {_fmt(row['value'])} "
                        f"[{_fmt(row['ci95'][0])}, {_fmt(row['ci95'][1])}]"
                    )
            alpha = dim["krippendorff_alpha"]
            self.stdout.write(
                "  Krippendorff alpha "
                + ", ".join(f"{k} {_fmt(v)}" for k, v in alpha.items())
                + f"; Fleiss kappa {_fmt(dim['fleiss_kappa'])}"
            )
            if dim.get("screening") and dim["screening"]["rejected"]:
                self.stdout.write(
                    "  BT.500 would reject: " + ", ".join(dim["screening"]["rejected"])
                )


def _fmt(value: float | None) -> str:
    return "null" if value is None else f"{value:.3f}"
