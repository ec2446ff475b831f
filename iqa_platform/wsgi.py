"""WSGI entry point (gunicorn)."""

import os
from importlib import import_module

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

from iqa_platform.checks import deid_secret_errors

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iqa_platform.settings")
application = get_wsgi_application()
# gunicorn runs no system checks: refuse to serve with a setting that would do lasting harm.
_errors = deid_secret_errors()
if _errors:
    raise ImproperlyConfigured("; ".join(e.msg for e in _errors))
# Import every view now, not on a worker's first request: the URLconf pulls in the statistics
# (scipy) and the figures, 1.4 s measured, which the first rater to log in after a restart
# would otherwise wait for. Under `gunicorn --preload` this happens once, before the fork.
import_module(settings.ROOT_URLCONF)
