"""manage.py create_study --definition study.json: a whole reader study from one file."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ratings.study_definition import DefinitionRejected, create_from_definition


class Command(BaseCommand):
    help = (
        "Create a reader study - its images, dimensions and members - from a JSON definition "
        '({"name", "dataset", "images": "all" or labels, "dimensions": [...], "raters", '
        '"coordinators", "researchers"}), the body POST /api/v1/studies/ takes. A bad definition '
        "is refused whole, each problem on its own line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--definition", required=True, help="JSON file")

    def handle(self, *args: Any, definition: str, **options: Any) -> None:
        try:
            with open(definition, encoding="utf-8-sig") as handle:
                data = json.load(handle)
        except OSError as error:
            raise CommandError(f"cannot read {definition}: {error}") from error
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise CommandError(f"{definition} is not JSON: {error}") from error
        try:
            study = create_from_definition(data)
        except DefinitionRejected as rejected:
            for line in rejected.lines():
                self.stderr.write(line)
            raise CommandError(str(rejected)) from None
        self.stdout.write(
            f"created study {study.name!r} (id {study.pk}): {study.study_images.count()} images, "
            f"{study.dimensions.count()} dimensions, {study.memberships.count()} members"
        )
