"""System checks for settings a deployment must get right (run by `manage.py check`, migrate,
runserver, and at the web server's start in wsgi.py)."""

from django.conf import settings
from django.core import checks


def deid_secret_errors() -> list[checks.CheckMessage]:
    """DEID_SECRET set on its own when DEBUG is off.

    Pseudonyms (patient keys, replaced UIDs) are keyed with it. Falling back to SECRET_KEY would
    tie them to a key that gets rotated (a leak, a new deployment): the next import of the same
    patient would then get another patient_key, breaking patient-grouped splits silently.
    """
    if settings.DEBUG:
        return []
    if not settings.DEID_SECRET:
        return [
            checks.Error(
                "DEID_SECRET must be set when DEBUG is off.",
                hint="Generate it once (e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(50))'`) and keep it stable: pseudonyms depend on it.",
                id="iqa.E001",
            )
        ]
    if settings.DEID_SECRET == settings.SECRET_KEY:
        return [
            checks.Error(
                "DEID_SECRET must differ from SECRET_KEY.",
                hint="Rotating SECRET_KEY would otherwise change every pseudonym.",
                id="iqa.E002",
            )
        ]
    return []


@checks.register()
def check_deid_secret(app_configs, **kwargs):
    return deid_secret_errors()
