"""Seed the demo: generated chest and MR images, real pydicom files, studies and ratings."""

from django.core.management.base import BaseCommand, CommandError

from demo.seeding import DemoSize, seed_demo
from imaging.models import Dataset


class Command(BaseCommand):
    help = "Build the demo data set, studies, users and simulated ratings."

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if data exists.")
        parser.add_argument("--chest", type=int, default=DemoSize.chest_images)
        parser.add_argument("--mr-series", type=int, default=DemoSize.mr_series)
        parser.add_argument("--mr-slices", type=int, default=DemoSize.mr_slices)
        parser.add_argument("--no-real-files", action="store_true")
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, **options):
        if Dataset.objects.exists():
            if options["if_empty"]:
                self.stdout.write("The database already has data: the demo is not seeded again.")
                return
            raise CommandError(
                "The database already has datasets; seed the demo into an empty one."
            )
        if options["chest"] < 4 or options["mr_series"] < 2 or options["mr_slices"] < 1:
            raise CommandError("Use at least 4 chest images, 2 MR series and 1 slice per series.")
        size = DemoSize(
            chest_images=options["chest"],
            mr_series=options["mr_series"],
            mr_slices=options["mr_slices"],
            real_files=not options["no_real_files"],
        )
        summary = seed_demo(size, seed=options["seed"], say=self.stdout.write)
        self.stdout.write(self.style.SUCCESS(f"Demo ready: {summary}"))
        from django.core.management import call_command

        call_command("demo_logins", stdout=self.stdout)
