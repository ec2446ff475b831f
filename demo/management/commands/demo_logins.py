"""Print the demo logins, if the demo has been seeded."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from demo.accounts import ADMIN, COORDINATOR, DEMO_PASSWORD, RESEARCHER, rater_username


class Command(BaseCommand):
    help = "Print the demo accounts and their password."

    def handle(self, *args, **options):
        users = get_user_model().objects
        wanted = [ADMIN, COORDINATOR, RESEARCHER, rater_username(1), rater_username(2)]
        present = [name for name in wanted if users.filter(username=name).exists()]
        if not present:
            self.stdout.write("  No demo accounts (run `python manage.py seed_demo`).")
            return
        self.stdout.write(f"  Demo logins (password for all: {DEMO_PASSWORD}):")
        roles = {
            ADMIN: "staff, sees everything (/admin/)",
            COORDINATOR: "study coordinator: dashboard, exports, study setup",
            RESEARCHER: "researcher: statistics, models",
        }
        for name in present:
            self.stdout.write(f"    {name:<12} {roles.get(name, 'rater: the reading page')}")
        self.stdout.write("    (raters rater01 .. rater10)")
