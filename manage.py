#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iqa_platform.settings")
    from django.conf import settings
    from django.core.management import execute_from_command_line

    # The embedded defaults (SQLite, file broker, media) live here; make it on first use.
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
