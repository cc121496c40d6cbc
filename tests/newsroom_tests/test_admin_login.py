"""Admin logins are throttled per account and per address (django-axes), with a
French page; a successful login forgets earlier failures."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import make_user

pytestmark = pytest.mark.django_db
LOGIN = reverse("admin:login")


def attempt(username, password, address):
    client = Client(REMOTE_ADDR=address)
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})


def test_an_account_is_suspended_after_five_failures_from_anywhere(settings):
    """Five wrong passwords for one account, from several addresses: from then on
    every attempt is refused (429, French page) even with the right password; other
    accounts still log in."""
    make_user(username="cible")
    make_user(username="voisine")
    for number in range(4):
        assert attempt("cible", "faux", f"203.0.113.{number}").status_code == 200
    # The fifth failure is answered with the suspension already.
    assert attempt("cible", "faux", "203.0.113.9").status_code == 429
    locked = attempt("cible", "motdepasse-test", "198.51.100.7")
    assert locked.status_code == 429
    content = locked.content.decode()
    assert "Connexion suspendue" in content and "15 minutes" in content
    assert attempt("voisine", "motdepasse-test", "198.51.100.7").status_code == 302


def test_an_address_is_suspended_after_five_failures_on_any_accounts():
    """Five failures from one address on five accounts: that address is refused,
    another one logs in."""
    make_user(username="lucie")
    for number in range(5):
        attempt(f"inconnu{number}", "faux", "192.0.2.10")
    assert attempt("lucie", "motdepasse-test", "192.0.2.10").status_code == 429
    assert attempt("lucie", "motdepasse-test", "192.0.2.11").status_code == 302


def test_a_successful_login_forgets_earlier_failures():
    """Four failures, a success, then four more failures: not suspended."""
    make_user(username="distraite")
    for _ in range(4):
        attempt("distraite", "faux", "192.0.2.20")
    assert attempt("distraite", "motdepasse-test", "192.0.2.20").status_code == 302
    for _ in range(4):
        attempt("distraite", "faux", "192.0.2.20")
    assert attempt("distraite", "motdepasse-test", "192.0.2.20").status_code == 302
