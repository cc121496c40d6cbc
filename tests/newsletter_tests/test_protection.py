"""Signups that bots cannot abuse: honeypot, minimum fill time, throttles per
client address and per target address, normalisation, concurrent bursts."""

import threading
import time
from datetime import timedelta

import pytest
from django.core import mail, signing
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from newsletter.forms import FORM_STAMP_SALT
from newsletter.models import Subscriber
from tests.factories import make_subscriber, signup_data

pytestmark = pytest.mark.django_db
SUBSCRIBE = reverse("newsletter:subscribe")
DONE = reverse("newsletter:subscribe-done")


def nothing_happened():
    return not Subscriber.objects.exists() and mail.outbox == []


def test_honeypot_gets_the_normal_answer_and_nothing_happens(client):
    """A bot that fills the hidden field sees the usual answer; nothing is stored or sent."""
    response = client.post(SUBSCRIBE, signup_data("bot@exemple.fr", website="http://spam"))
    assert response.status_code == 302 and response["Location"] == DONE
    assert nothing_happened()


def test_too_fast_gets_the_normal_answer_and_nothing_happens(client, settings):
    """A form sent before the minimum fill time counts as a bot's."""
    settings.NEWSLETTER_MIN_FILL_SECONDS = 3
    response = client.post(SUBSCRIBE, signup_data("rapide@exemple.fr"))
    assert response["Location"] == DONE
    assert nothing_happened()


def test_a_person_who_takes_a_few_seconds_subscribes(client, settings):
    """After the minimum fill time, the signup goes through."""
    settings.NEWSLETTER_MIN_FILL_SECONDS = 3
    stamp = signing.dumps(time.time() - 5, salt=FORM_STAMP_SALT)
    client.post(SUBSCRIBE, signup_data("patiente@exemple.fr", started=stamp))
    assert Subscriber.objects.filter(email="patiente@exemple.fr").exists()
    assert len(mail.outbox) == 1


FORGED_STAMPS = [
    "",
    "n'importe quoi",
    signing.dumps("texte", salt=FORM_STAMP_SALT),
    signing.dumps(time.time(), salt="autre"),
]


@pytest.mark.parametrize("stamp", FORGED_STAMPS)
def test_missing_or_forged_form_time_counts_as_a_bot(client, stamp):
    """Without a genuine signed time the form is taken for a bot's: nothing is done."""
    response = client.post(SUBSCRIBE, signup_data("forge@exemple.fr", started=stamp))
    assert response["Location"] == DONE
    assert nothing_happened()


def test_a_form_left_open_for_days_asks_again_and_loses_nothing(client, monkeypatch):
    """An old form is not silently dropped: the reader is asked to send it again,
    with what they typed kept."""
    stamp = signing.dumps(time.time(), salt=FORM_STAMP_SALT)
    later = time.time() + 2 * 86400
    monkeypatch.setattr(signing.time, "time", lambda: later)
    response = client.post(SUBSCRIBE, signup_data("lente@exemple.fr", started=stamp))
    content = response.content.decode()
    assert response.status_code == 400
    assert "ouvert depuis longtemps" in content
    assert 'value="lente@exemple.fr"' in content
    assert nothing_happened()


def test_per_address_limit_sends_one_email_a_day_and_answers_as_usual(client):
    """A second request for the same address within 24 hours gets the usual
    answer, and no second email."""
    first = client.post(SUBSCRIBE, signup_data("deux@exemple.fr"))
    second = client.post(SUBSCRIBE, signup_data("DEUX@Exemple.fr"))
    assert (first.status_code, first["Location"]) == (302, DONE)
    assert (second.status_code, second["Location"]) == (302, DONE)
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("status", list(Subscriber.Status))
def test_per_address_limit_answers_the_same_whatever_the_state(client, status):
    """The limit says the same for new, pending, confirmed and unsubscribed
    addresses: it reveals nothing about subscriptions."""
    make_subscriber(email="etat@exemple.fr", status=status)
    first = client.post(SUBSCRIBE, signup_data("etat@exemple.fr"))
    second = client.post(SUBSCRIBE, signup_data("etat@exemple.fr"))
    assert (first.status_code, first["Location"]) == (302, DONE)
    assert (second.status_code, second["Location"]) == (302, DONE)
    assert len(mail.outbox) == (0 if status == Subscriber.Status.CONFIRMED else 1)


def test_per_ip_limit(client, settings):
    """Past the hourly limit for one client address: 429; other clients go on."""
    settings.NEWSLETTER_SIGNUPS_PER_IP_PER_HOUR = 3
    for index in range(3):
        client.post(SUBSCRIBE, signup_data(f"ip{index}@exemple.fr"), REMOTE_ADDR="198.51.100.7")
    blocked = client.post(SUBSCRIBE, signup_data("ip9@exemple.fr"), REMOTE_ADDR="198.51.100.7")
    other = client.post(SUBSCRIBE, signup_data("autre@exemple.fr"), REMOTE_ADDR="198.51.100.8")
    assert blocked.status_code == 429
    assert "depuis votre connexion" in blocked.content.decode()
    assert not Subscriber.objects.filter(email="ip9@exemple.fr").exists()
    assert other.status_code == 302


def test_behind_a_proxy_the_forwarded_address_counts(client, settings):
    """With NUMBER_OF_PROXIES=1, the address the proxy saw is the one limited."""
    settings.NEWSLETTER_SIGNUPS_PER_IP_PER_HOUR = 1
    settings.NUMBER_OF_PROXIES = 1
    client.post(SUBSCRIBE, signup_data("a@exemple.fr"), HTTP_X_FORWARDED_FOR="203.0.113.5")
    other = client.post(SUBSCRIBE, signup_data("b@exemple.fr"), HTTP_X_FORWARDED_FOR="203.0.113.6")
    same = client.post(SUBSCRIBE, signup_data("c@exemple.fr"), HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert other.status_code == 302 and same.status_code == 429


def test_unsubscribed_address_can_subscribe_again_through_double_opt_in(client):
    """A former subscriber gets a new confirmation email; only the button confirms."""
    subscriber = make_subscriber(email="retour@exemple.fr", status=Subscriber.Status.UNSUBSCRIBED)
    Subscriber.objects.filter(pk=subscriber.pk).update(
        last_requested_at=timezone.now() - timedelta(days=30)
    )
    client.post(SUBSCRIBE, signup_data("retour@exemple.fr"))
    assert len(mail.outbox) == 1
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    client.post(reverse("newsletter:confirm", args=[subscriber.make_token("confirm")]))
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.CONFIRMED


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_burst_of_signups_for_one_address_gives_one_row_and_one_email():
    """Eight simultaneous signups for one address: one subscriber, one email,
    and eight identical answers."""
    barrier = threading.Barrier(8)
    statuses = []

    def sign_up(index):
        client = Client()
        barrier.wait()
        response = client.post(SUBSCRIBE, signup_data(f"  Rafale@EXEMPLE.kz{' ' * index}"))
        statuses.append(response.status_code)
        connection.close()

    threads = [threading.Thread(target=sign_up, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Subscriber.objects.count() == 1
    assert Subscriber.objects.get().email == "Rafale@exemple.kz"
    assert len(mail.outbox) == 1
    assert statuses == [302] * 8


def test_a_stamp_lives_hours_not_a_day(client, monkeypatch):
    """A stamp taken from a page cannot be replayed all day: three hours later it is
    refused (and the reader, if it is one, is asked again); an hour later it works."""
    stamp = signing.dumps(time.time(), salt=FORM_STAMP_SALT)
    now = time.time()
    monkeypatch.setattr(signing.time, "time", lambda: now + 3 * 3600)
    refused = client.post(SUBSCRIBE, signup_data("rejoue@exemple.fr", started=stamp))
    assert refused.status_code == 400 and nothing_happened()

    monkeypatch.setattr(signing.time, "time", lambda: now + 3600)
    accepted = client.post(SUBSCRIBE, signup_data("rejoue@exemple.fr", started=stamp))
    assert accepted["Location"] == DONE
    assert Subscriber.objects.filter(email="rejoue@exemple.fr").exists()
