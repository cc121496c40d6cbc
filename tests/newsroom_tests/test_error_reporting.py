"""Errors reach the newsroom: tracebacks mailed to DJANGO_ADMINS; logs are one
line per event, each with the id of its request."""

import io
import logging
import re

import pytest
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
