"""Errors reach the newsroom: tracebacks mailed to DJANGO_ADMINS; logs are one
line per event, each with the id of its request."""

import gzip
import http.server
import io
import logging
import os
import re
import subprocess
import sys
import threading

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

from newsroom.logs import OneLineFormatter, RequestIdFilter, parse_admins

pytestmark = pytest.mark.django_db


def test_django_admins_is_read_with_or_without_names():
    assert parse_admins("Aïgerim <aigerim@exemple.org>, tech@exemple.org") == [
        ("Aïgerim", "aigerim@exemple.org"),
        ("tech@exemple.org", "tech@exemple.org"),
    ]
    assert parse_admins("") == []


def test_every_answer_carries_a_request_id(client):
    """A new id per request, or the proxy's when it looks like one; never a
    header value that could inject anything."""
    first, second = client.get("/robots.txt"), client.get("/robots.txt")
    assert re.fullmatch(r"[0-9a-f]{32}", first["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]
    given = client.get("/robots.txt", HTTP_X_REQUEST_ID="lb-7f3a9c21")
    assert given["X-Request-ID"] == "lb-7f3a9c21"
    for bad in ("court", "a" * 65, "id avec espaces", "x\u00e9" * 10):
        assert client.get("/robots.txt", HTTP_X_REQUEST_ID=bad)["X-Request-ID"] != bad


@pytest.fixture
def captured_log():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(OneLineFormatter("%(levelname)s request=%(request_id)s %(message)s"))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def test_a_log_event_is_one_line_with_its_request_id(settings, captured_log):
    settings.ROOT_URLCONF = "tests.newsroom_tests.error_urls"
    Client().get("/journal/", HTTP_X_REQUEST_ID="req-12345678")
    lines = [line for line in captured_log.getvalue().splitlines() if "first line" in line]
    assert lines == ["WARNING request=req-12345678 first line\\nsecond line"]


def test_a_server_error_is_mailed_to_the_admins_and_logged_on_one_line(settings, captured_log):
    """DEBUG off: the traceback goes to DJANGO_ADMINS by email, and to the log as
    one line with the request id; the reader gets the site's 500 page."""
    settings.ROOT_URLCONF = "tests.newsroom_tests.error_urls"
    settings.DEBUG = False
    settings.ADMINS = [("Tech", "tech@exemple.org")]
    response = Client(raise_request_exception=False).get(
        "/echec/", HTTP_X_REQUEST_ID="req-87654321"
    )
    assert response.status_code == 500
    assert "Une erreur est survenue" in response.content.decode()
    (report,) = [message for message in mail.outbox if "tech@exemple.org" in message.to]
    assert "RuntimeError" in report.body and "/echec/" in report.subject
    (line,) = [line for line in captured_log.getvalue().splitlines() if "/echec/" in line]
    assert line.startswith("ERROR request=req-87654321 Internal Server Error: /echec/")
    assert "Traceback" in line and "RuntimeError: boom\\nsecond line" in line


class _SentryIngest(http.server.BaseHTTPRequestHandler):
    """Stands where sentry.io would: keeps the envelopes the SDK posts."""

    received: list[bytes] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        type(self).received.append(self.path.encode() + b"\n" + body)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


_SENTRY_CLIENT = """
import django, sentry_sdk
from django.conf import settings
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
settings.ROOT_URLCONF = "tests.newsroom_tests.error_urls"
settings.DEBUG = False
response = Client(raise_request_exception=False).get(
    "/echec/?email=lecteur@exemple.org", HTTP_X_REQUEST_ID="req-sentry-42",
    HTTP_COOKIE="sessionid=secret-session",
)
assert response.status_code == 500, response.status_code
sentry_sdk.flush(timeout=10)
"""


def test_sentry_receives_server_errors_with_the_request_id_and_no_personal_data():
    """SENTRY_DSN set: a server error reaches the Sentry server named by the DSN
    (a local one here), tagged with the request id, without cookies or the
    query string's address; SENTRY_DSN unset: nothing is sent."""
    _SentryIngest.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SentryIngest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        base_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "newsroom.settings.test"}
        for dsn in ("", f"http://publickey@127.0.0.1:{port}/7"):
            done = subprocess.run(
                [sys.executable, "-c", _SENTRY_CLIENT],
                env={**base_env, "SENTRY_DSN": dsn},
                cwd=settings.BASE_DIR,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr
            if not dsn:
                assert _SentryIngest.received == []
    finally:
        server.shutdown()
    events = [body for body in _SentryIngest.received if b'"exception"' in body]
    assert len(events) == 1, _SentryIngest.received
    (event,) = events
    assert event.startswith(b"/api/7/envelope/")
    assert b"RuntimeError" in event and b"boom" in event
    assert b'"request_id":"req-sentry-42"' in event.replace(b" ", b"")
    assert b"secret-session" not in event and b"lecteur@exemple.org" not in event
