"""Consent you can prove: the append-only log, versioned consent text, access
export, erasure, and purging unconfirmed signups."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from newsletter.models import ConsentEvent, ConsentText, Delivery, Subscriber, truncate_ip
from newsletter.sending import send_issue
from tests.factories import make_issue, make_subscriber, make_user, signup_data

pytestmark = pytest.mark.django_db
SUBSCRIBE = reverse("newsletter:subscribe")
CHANGELIST = reverse("admin:newsletter_subscriber_changelist")


def subscribe_and_confirm(client, email="lola@exemple.fr", source="/article/x/"):
    client.post(SUBSCRIBE, signup_data(email, source=source), REMOTE_ADDR="203.0.113.77")
    subscriber = Subscriber.objects.get(email=email)
    client.post(
        reverse("newsletter:confirm", args=[subscriber.make_token("confirm")]),
        REMOTE_ADDR="2001:db8:abcd:12::1",
    )
    subscriber.refresh_from_db()
    return subscriber


def test_ip_truncation():
    """IPv4 keeps its /24, IPv6 its /48; anything else is dropped."""
    assert truncate_ip("203.0.113.77") == "203.0.113.0"
    assert truncate_ip("2001:db8:abcd:12::1") == "2001:db8:abcd::"
    assert truncate_ip("pas une ip") == ""


def test_the_log_records_request_and_confirmation(client):
    """When they asked, when they confirmed, from which page, which text, truncated IPs."""
    current = ConsentText.objects.current()
    subscriber = subscribe_and_confirm(client)
    requested, confirmed = subscriber.consent_events.order_by("at", "pk")
    assert (requested.kind, confirmed.kind) == ("requested", "confirmed")
    assert requested.source == confirmed.source == "/article/x/"
    assert requested.consent_text == confirmed.consent_text == current
    assert requested.ip == "203.0.113.0"
    assert confirmed.ip == "2001:db8:abcd::"
    assert requested.at <= confirmed.at


def test_the_form_shows_the_current_consent_text(client, admin_client):
    """Editors change the wording in the admin: a new version, shown at once; the
    old version is kept as it was."""
    first = ConsentText.objects.current()
    response = admin_client.post(
        reverse("admin:newsletter_consenttext_add"), {"text": "Nouvelle formulation, v2."}
    )
    assert response.status_code == 302
    second = ConsentText.objects.current()
    assert second.version == first.version + 1
    assert ConsentText.objects.get(pk=first.pk).text == first.text
    assert "Nouvelle formulation, v2." in client.get(SUBSCRIBE).content.decode()
    subscriber = subscribe_and_confirm(client, email="v2@exemple.fr")
    assert subscriber.consent_events.first().consent_text == second


def test_consent_texts_cannot_be_rewritten(admin_client):
    """An agreed wording is never edited or deleted, in the admin or in code."""
    text = ConsentText.objects.current()
    assert (
        admin_client.get(reverse("admin:newsletter_consenttext_change", args=[text.pk]))
        .content.decode()
        .count('name="text"')
        == 0
    )
    text.text = "réécrit"
    with pytest.raises(PermissionDenied):
        text.save()


def test_the_log_is_append_only(client):
    """Events cannot be changed or deleted."""
    event = subscribe_and_confirm(client).consent_events.first()
    event.source = "/ailleurs/"
    with pytest.raises(PermissionDenied):
        event.save()
    with pytest.raises(PermissionDenied):
        event.delete()
    with pytest.raises(PermissionDenied):
        ConsentEvent.objects.update(kind="confirmed")


@pytest.mark.parametrize(
    ("how", "method"),
    [("page", "link"), ("one-click", "one-click"), ("admin", "admin")],
)
def test_withdrawal_records_when_and_how(client, admin_client, how, method):
    """Unsubscribing by the page's button, by one-click, or by an editor is logged."""
    subscriber = subscribe_and_confirm(client)
    url = reverse("newsletter:unsubscribe", args=[subscriber.make_token("unsubscribe")])
    if how == "page":
        client.post(url)
    elif how == "one-click":
        client.post(url, {"List-Unsubscribe": "One-Click"})
    else:
        admin_client.post(
            CHANGELIST, {"action": "unsubscribe", "_selected_action": [subscriber.pk]}
        )
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    withdrawal = subscriber.consent_events.get(kind="withdrawn")
    assert withdrawal.method == method


def test_editors_export_one_subscribers_record(client, admin_client):
    """The access export is a JSON file with the subscriber's data and consent log."""
    subscriber = subscribe_and_confirm(client)
    response = admin_client.post(
        CHANGELIST, {"action": "export_record", "_selected_action": [subscriber.pk]}
    )
    assert response["Content-Type"].startswith("application/json")
    record = json.loads(response.content)
    assert record["adresse"] == "lola@exemple.fr"
    events = record["registre_du_consentement"]
    assert [e["evenement"] for e in events] == ["Demande d’inscription", "Confirmation"]
    assert events[0]["texte_accepte"]["version"] == ConsentText.objects.current().version
    assert events[0]["ip_tronquee"] == "203.0.113.0"


def test_export_needs_exactly_one_subscriber(admin_client):
    """The access export is per person: selecting several says so."""
    make_subscriber(), make_subscriber()
    response = admin_client.post(
        CHANGELIST,
        {
            "action": "export_record",
            "_selected_action": list(Subscriber.objects.values_list("pk", flat=True)),
        },
        follow=True,
    )
    assert "un seul abonné" in response.content.decode()


def test_erasure_keeps_an_anonymous_trace_of_consent(client, admin_client):
    """Erasing removes the address, the IPs and every link, and keeps the fact
    and dates of consent."""
    subscriber = subscribe_and_confirm(client)
    old_link = reverse("newsletter:unsubscribe", args=[subscriber.make_token("unsubscribe")])
    admin_client.post(CHANGELIST, {"action": "erase", "_selected_action": [subscriber.pk]})

    subscriber.refresh_from_db()
    assert "lola" not in subscriber.email and subscriber.erased_at is not None
    assert subscriber.source == ""
    kinds = list(subscriber.consent_events.values_list("kind", flat=True))
    assert kinds == ["requested", "confirmed", "withdrawn", "erased"]
    assert set(subscriber.consent_events.values_list("ip", flat=True)) == {""}
    assert client.post(old_link).status_code == 400
    assert not Subscriber.objects.confirmed().filter(pk=subscriber.pk).exists()


def test_subscribers_cannot_be_deleted_in_the_admin(admin_client):
    """Deletion would lose the consent log: the admin offers erasure instead."""
    subscriber = make_subscriber()
    url = reverse("admin:newsletter_subscriber_delete", args=[subscriber.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert Subscriber.objects.filter(pk=subscriber.pk).exists()


def test_confirmation_records_the_text_of_the_latest_request(client, admin_client):
    """Someone who subscribes again confirms the wording shown at their new request."""
    subscriber = make_subscriber(email="revient@exemple.fr")
    ConsentEvent.objects.create(
        subscriber=subscriber,
        kind="requested",
        consent_text=ConsentText.objects.current(),
        source="/ancienne/",
    )
    ConsentText.objects.create(text="Version plus récente.")
    client.post(SUBSCRIBE, signup_data("revient@exemple.fr", source="/nouvelle/"))
    client.post(reverse("newsletter:confirm", args=[subscriber.make_token("confirm")]))
    confirmed = subscriber.consent_events.get(kind="confirmed")
    assert confirmed.consent_text.text == "Version plus récente."
    assert confirmed.source == "/nouvelle/"


def test_staff_who_may_only_view_subscribers_cannot_export_or_erase(client):
    """Erasure, unsubscribing and exports need the change permission: a viewer's
    list offers no action, and posting one only shows the list again."""
    viewer = make_user(perms=["newsletter.view_subscriber"])
    client.force_login(viewer)
    subscriber = make_subscriber(status=Subscriber.Status.CONFIRMED)
    assertNotContains(client.get(CHANGELIST), 'name="action"')
    for action in ("erase", "export_record", "export_csv", "unsubscribe"):
        response = client.post(CHANGELIST, {"action": action, "_selected_action": [subscriber.pk]})
        assertContains(response, subscriber.email)
        assertNotContains(response, 'name="action"')
        assert "Content-Disposition" not in response
    subscriber.refresh_from_db()
    assert subscriber.erased_at is None and subscriber.status == Subscriber.Status.CONFIRMED
    assert Permission.objects.filter(codename="send_issue").exists()


def test_an_erased_trace_keeps_no_address_and_the_person_may_subscribe_anew(client):
    """Erasure leaves no address behind: the trace cannot be found or touched by
    a signup, and the same person signing up later starts a new, separate record."""
    subscriber = make_subscriber(email="parti@exemple.fr", status=Subscriber.Status.CONFIRMED)
    subscriber.erase()
    subscriber.refresh_from_db()
    assert subscriber.email == ""
    events = subscriber.consent_events.count()
    response = client.post(SUBSCRIBE, signup_data("parti@exemple.fr"))
    assert response.status_code == 302
    assert subscriber.consent_events.count() == events
    newcomer = Subscriber.objects.get(email="parti@exemple.fr")
    assert newcomer.pk != subscriber.pk and newcomer.status == Subscriber.Status.PENDING
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["parti@exemple.fr"]


def test_erasure_removes_the_address_from_delivery_errors(smtp_server):
    """A refused delivery's error keeps the server's answer but never the address."""
    subscriber = make_subscriber(email="refuse@exemple.org", status=Subscriber.Status.CONFIRMED)
    smtp_server.refuse.add("refuse@exemple.org")
    issue = make_issue(articles=1)
    Delivery.objects.create_for(issue)
    send_issue(issue)
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert "550" in delivery.error and "refuse@" not in delivery.error
    subscriber.erase()
    delivery.refresh_from_db()
    assert delivery.error == "" and delivery.message_id == ""


def test_purge_deletes_old_unconfirmed_signups_only(client):
    """The purge command removes signups never confirmed after N days, nothing else."""
    client.post(SUBSCRIBE, signup_data("vieux@exemple.fr"))
    client.post(SUBSCRIBE, signup_data("recent@exemple.fr"))
    confirmed = subscribe_and_confirm(client, email="fidele@exemple.fr")
    old = timezone.now() - timedelta(days=40)
    Subscriber.objects.filter(email__in=["vieux@exemple.fr", "fidele@exemple.fr"]).update(
        created_at=old, last_requested_at=old
    )
    call_command("purge_unconfirmed", "--days", "30", verbosity=0)
    remaining = set(Subscriber.objects.values_list("email", flat=True))
    assert remaining == {"recent@exemple.fr", confirmed.email}
    assert len(mail.outbox) == 3
