"""Session authentication whose CSRF refusal carries a code of its own (`csrf_failed`).

DRF answers a missing or stale CSRF token with a plain `permission_denied` 403, the same as a
real refusal. A client that keeps work for later (the reading page's outbox) must tell "log in
again / reload, and it will go" from "the server will never store this" without reading the
English message.
"""

from drf_spectacular import authentication as drf_spectacular_session
from rest_framework import authentication, exceptions


class CsrfFailed(exceptions.PermissionDenied):
    default_code = "csrf_failed"


class SessionAuthentication(authentication.SessionAuthentication):
    def enforce_csrf(self, request):
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as exc:
            raise CsrfFailed(str(exc.detail)) from None


class SessionScheme(drf_spectacular_session.SessionScheme):
    """The OpenAPI description of it: the same cookie scheme as DRF's own."""

    target_class = "iqa_platform.api_auth.SessionAuthentication"
