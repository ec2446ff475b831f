"""API error shape: every error answers JSON with a readable `detail`, never an HTML 500 page."""

import logging

from django.db import DatabaseError, IntegrityError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is not None:
        return response
    if isinstance(exc, IntegrityError):
        # A race between two identical requests (double click, retry): report a conflict.
        return Response(
            {"detail": "This conflicts with existing data (a duplicate or a concurrent change)."},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, DatabaseError):
        logger.exception("database error in %s", context.get("view"))
        return Response(
            {"detail": "The database is unavailable; nothing was changed. Try again."},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    return None
