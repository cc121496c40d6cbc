import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import Client

from newsroom.settings.email_url import parse_email_url
from tests.factories import make_article


def test_email_url_smtp_with_starttls_and_encoded_password():
    """EMAIL_URL gives host, port, credentials (percent-decoded) and TLS."""
    parsed = parse_email_url("smtp://user%40site:p%3Ass@mail.example.org:587?tls=true")
    assert parsed["EMAIL_HOST"] == "mail.example.org"
    assert parsed["EMAIL_PORT"] == 587
    assert parsed["EMAIL_HOST_USER"] == "user@site"
    assert parsed["EMAIL_HOST_PASSWORD"] == "p:ss"
    assert parsed["EMAIL_USE_TLS"] is True and parsed["EMAIL_USE_SSL"] is False


def test_email_url_smtps_defaults_to_port_465():
    """smtps:// means TLS from the start, on port 465 unless told otherwise."""
    parsed = parse_email_url("smtps://u:p@mail.example.org")
    assert (parsed["EMAIL_PORT"], parsed["EMAIL_USE_SSL"]) == (465, True)


@pytest.mark.parametrize(
    "url", ["http://mail.example.org", "smtp://", "smtp://h:notaport", "smtp://h?tls=1&ssl=1"]
)
def test_email_url_refuses_what_it_cannot_use(url):
    """A malformed EMAIL_URL stops the start with a message, not a silent fallback."""
    with pytest.raises(ImproperlyConfigured):
        parse_email_url(url)


STRONG_KEY = "k3y-for-tests-only-" + "abcdefghij" * 4


def _import_production_settings(**env):
    environment = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", "import newsroom.settings.production"],
        env=environment,
        capture_output=True,
        text=True,
        cwd=django_settings.BASE_DIR,
    )


def test_production_settings_refuse_to_start_without_secret_key_or_hosts():
    """Production settings stop with a clear message without a secret key or hosts."""
    no_key = _import_production_settings(DJANGO_ALLOWED_HOSTS="example.org")
    assert no_key.returncode != 0 and "DJANGO_SECRET_KEY" in no_key.stderr
    no_hosts = _import_production_settings(DJANGO_SECRET_KEY=STRONG_KEY)
    assert no_hosts.returncode != 0 and "DJANGO_ALLOWED_HOSTS" in no_hosts.stderr
    ok = _import_production_settings(
        DJANGO_SECRET_KEY=STRONG_KEY, DJANGO_ALLOWED_HOSTS="example.org"
    )
    assert ok.returncode == 0, ok.stderr


def test_the_deployment_check_is_clean_in_production_over_https():
    """`check --deploy` with production settings and an https SITE_URL finds
    nothing but the documented CKEditor 4 warning, which is silenced; the HSTS
    header asks for a year, subdomains included, and preloading."""
    environment = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "newsroom.settings.production",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        "DJANGO_SECRET_KEY": STRONG_KEY,
        "DJANGO_ALLOWED_HOSTS": "www.exemple.org",
        "SITE_URL": "https://www.exemple.org",
    }
    checked = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=environment,
        capture_output=True,
        text=True,
        cwd=django_settings.BASE_DIR,
    )
    assert checked.returncode == 0, checked.stderr + checked.stdout
    assert "no issues (1 silenced)" in checked.stdout
    plain = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={**environment, "DJANGO_HSTS_PRELOAD": "false"},
        capture_output=True,
        text=True,
        cwd=django_settings.BASE_DIR,
    )
    assert plain.returncode != 0 and "security.W021" in plain.stderr


@pytest.mark.django_db
def test_server_error_page_is_in_the_site_style(client, settings):
    """A 500 shows the site's own French page."""
    from django.test import RequestFactory

    from newsroom.views import server_error

    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "Une erreur est survenue" in response.content.decode()


@pytest.mark.django_db
def test_csrf_failure_page_explains_and_loses_nothing():
    """A form posted without its token gets a French page saying nothing was saved."""
    client = Client(enforce_csrf_checks=True)
    response = client.post("/newsletter/", {"email": "a@exemple.fr"})
    assert response.status_code == 403
    assert "Le formulaire a expiré" in response.content.decode()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_readers_get_a_503_page_when_the_database_is_unreachable(client):
    """When PostgreSQL cannot be reached, pages answer 503 with a page, not a traceback."""
    make_article()
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update({"HOST": "127.0.0.1", "PORT": "1"})
    try:
        response = client.get("/")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
    assert response.status_code == 503
    assert "Site momentanément indisponible" in response.content.decode()
    assert response["Retry-After"] == "30"
