"""Site-wide middleware."""

import logging

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    """When PostgreSQL cannot be reached, answer 503 with a page that needs no
    database, instead of a traceback."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        if isinstance(exception, DatabaseError) and not _is_connection_failure(exception):
            return None
        logger.error("Database unavailable: %s", exception)
        response = HttpResponse(
            render_to_string("503.html", {"site_name": _site_name()}), status=503
        )
        response["Retry-After"] = "30"
        response["Cache-Control"] = "no-store"
        return response


def _is_connection_failure(exception) -> bool:
    # OperationalError also covers errors such as a cancelled statement; only
    # connection failures mean "the database is unavailable".
    text = str(exception).lower()
    return isinstance(exception, InterfaceError) or any(
        marker in text
        for marker in (
            "could not connect",
            "connection refused",
            "server closed the connection",
            "connection to server",
            "terminating connection",
            "no such file or directory",
            "the database system is",
            "connection already closed",
        )
    )


def _site_name() -> str:
    from django.conf import settings

    return settings.SITE_NAME
