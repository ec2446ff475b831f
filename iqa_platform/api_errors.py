"""API error shape: every error answers JSON with a readable `detail` and a machine-readable
`code` (DRF's codes: `invalid`, `not_authenticated`, `authentication_failed`, `csrf_failed`,
`permission_denied`, `not_found`, `conflict`...), never an HTML 500 page. Clients decide by
status and code, never by the English text."""

import errno
import logging

from django.db import DatabaseError, IntegrityError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is not None:
        if isinstance(response.data, dict) and "detail" in response.data:
            # DRF's ErrorDetail carries the code (also for Django's Http404 / PermissionDenied,
            # which DRF turned into its own exceptions).
            code = getattr(response.data["detail"], "code", None)
            response.data.setdefault("code", code if isinstance(code, str) else "error")
        return response
    if isinstance(exc, IntegrityError):
        # A race between two identical requests (double click, retry): report a conflict.
        return Response(
            {
                "detail": "This conflicts with existing data (a duplicate or a concurrent change).",
                "code": "conflict",
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        logger.error("storage full in %s: %s", context.get("view"), exc)
        return Response(
            {
                "detail": "The server's storage is full; what this request sent was not kept. "
                "Try again later, or tell an administrator.",
                "code": "storage_full",
            },
            status=status.HTTP_507_INSUFFICIENT_STORAGE,
        )
    if isinstance(exc, DatabaseError):
        logger.exception("database error in %s", context.get("view"))
        return Response(
            {
                "detail": "The database is unavailable; nothing was changed. Try again.",
                "code": "database_unavailable",
            },
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    return None
