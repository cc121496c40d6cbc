"""Logs as one line per event, each with the id of the request it belongs to.

``RequestIdMiddleware`` gives every request an id (the ``X-Request-ID`` a proxy
sent, when it looks like one, or a new one), returns it in the response's
``X-Request-ID`` and puts it on every log record written while the request is
handled; ``OneLineFormatter`` writes a record, traceback included, on one line."""

import contextvars
import logging
import re
import uuid

_request_id = contextvars.ContextVar("request_id", default="-")
_ACCEPTED_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request.id = given if _ACCEPTED_ID.match(given) else uuid.uuid4().hex
        token = _request_id.set(request.id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = request.id
        return response


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.request_id = _request_id.get()
        return True


class OneLineFormatter(logging.Formatter):
    """Line breaks (in messages and tracebacks) are written as ``\\n``, so a log
    collector sees one event per line."""

    def format(self, record):
        return super().format(record).replace("\r", "").replace("\n", "\\n")


def parse_admins(value: str) -> list[tuple[str, str]]:
    """``DJANGO_ADMINS``: comma-separated addresses, each optionally named
    (``Aïgerim <a@example.org>, b@example.org``) into Django's ADMINS."""
    from email.utils import getaddresses

    return [(name or address, address) for name, address in getaddresses([value]) if address]


def _tag_request_id(event, hint):
    event.setdefault("tags", {})["request_id"] = _request_id.get()
    return event


def init_sentry(dsn: str, environment: str, traces_sample_rate: float) -> None:
    """``SENTRY_DSN`` set: unhandled errors (requests and tasks) and error logs go
    to Sentry, tagged with the request id; no personal data is sent: no
    cookies, headers or signed-in user, and no local variables (the sending
    engine's hold subscribers' addresses, a request's repr its query string)."""
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        integrations=[DjangoIntegration()],
        environment=environment,
        send_default_pii=False,
        include_local_variables=False,
        traces_sample_rate=traces_sample_rate,
        before_send=_tag_request_id,
    )
