"""What the sender checks before each message and each run: readers who left
after the issue was queued, articles unpublished since, another sender at work,
and drafts or sent issues that a resume or a resend must not mail to anyone new."""

import psycopg2
import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from articles.models import Article
from newsletter.models import (
    ConsentEvent,
    Delivery,
    DeliveryQuerySet,
    Issue,
    MailEvent,
    Subscriber,
    Suppression,
)
from newsletter.sending import SENDER_LOCK_NAMESPACE, send_issue, sender_is_running
from newsroom.embedded_database import url_of
from tests.factories import make_issue, make_newsletter, make_subscriber

pytestmark = pytest.mark.django_db


def test_readers_who_leave_during_a_send_do_not_get_it(smtp_server):
    """Unsubscribed or erased after queueing: their delivery is cancelled, not sent."""
    issue = make_issue(articles=1)
    stays, leaves, erased = (
        make_subscriber(email=f"{name}@exemple.org", status=Subscriber.Status.CONFIRMED)
        for name in ("reste", "part", "efface")
    )
    Delivery.objects.create_for(issue)
    Issue.objects.filter(pk=issue.pk).update(status=Issue.Status.SENDING)
    leaves.unsubscribe(ConsentEvent.Method.LINK)
    erased.erase()
    counts = send_issue(issue)
    assert [r for envelope in smtp_server for r in envelope.rcpt_tos] == ["reste@exemple.org"]
    assert counts["skipped"] == 2 and counts["waiting"] == 0


def test_a_delivery_cancelled_in_the_table_is_skipped_at_claim_time(smtp_server):
    """Even without going through unsubscribe(), the sender checks the reader's state."""
    issue = make_issue(articles=1)
    subscriber = make_subscriber(status=Subscriber.Status.CONFIRMED)
    Delivery.objects.create_for(issue)
    Subscriber.objects.filter(pk=subscriber.pk).update(status=Subscriber.Status.UNSUBSCRIBED)
    send_issue(issue)
    assert smtp_server == []
    assert Delivery.objects.get().status == Delivery.Status.SKIPPED


def test_the_progress_page_asks_about_the_lock_without_taking_it():
    """sender_is_running() sees another process's lock, and never holds it itself."""
    issue = make_issue(articles=1)
    assert sender_is_running(issue) is False
    connection.ensure_connection()
    other = psycopg2.connect(url_of(connection.settings_dict))
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [SENDER_LOCK_NAMESPACE, issue.pk])
        assert sender_is_running(issue) is True
        assert send_issue(issue) is None  # the other sender is at work
        # Released explicitly: closing the connection also releases it, but only
        # once the server's backend has exited, after close() returns (asserting
        # right after close() failed one run in three).
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [SENDER_LOCK_NAMESPACE, issue.pk])
            assert cursor.fetchone() == (True,)
        assert sender_is_running(issue) is False
    finally:
        other.close()


def test_resume_and_resend_do_nothing_to_a_draft(admin_client):
    """A draft cannot be « resumed » into the sent archive."""
    issue = make_issue(articles=1)
    issue.resume()
    assert issue.resend_uncertain() == 0
    admin_client.post(reverse("admin:newsletter_issue_resume", args=[issue.pk]))
    assert Issue.objects.get(pk=issue.pk).status == Issue.Status.DRAFT


def test_resending_a_sent_issue_from_the_command_line_reaches_nobody_new(smtp_server):
    """send_newsletter on a sent issue resumes; it does not mail it to new subscribers."""
    make_subscriber(email="ancien@exemple.org", status=Subscriber.Status.CONFIRMED)
    issue = make_issue(articles=1)
    call_command("send_newsletter", issue.pk, "--no-progress", verbosity=0)
    make_subscriber(email="nouveau@exemple.org", status=Subscriber.Status.CONFIRMED)
    call_command("send_newsletter", issue.pk, "--no-progress", verbosity=0)
    recipients = [r for envelope in smtp_server for r in envelope.rcpt_tos]
    assert recipients == ["ancien@exemple.org"]


def test_nothing_is_sent_when_every_article_was_unpublished(smtp_server):
    """An issue whose articles were all unpublished since queueing is not sent empty."""
    make_subscriber(status=Subscriber.Status.CONFIRMED)
    issue = make_issue(articles=1)
    Delivery.objects.create_for(issue)
    Article.objects.update(status=Article.Status.DRAFT)
    counts = send_issue(issue)
    assert smtp_server == [] and counts["waiting"] == 1


def recipients(smtp_server):
    return sorted(r for envelope in smtp_server for r in envelope.rcpt_tos)


def alertes_issue_for(*names):
    """An « Alertes » issue, sending, with a delivery for each reader (who also
    receive the default newsletter), as created when it was queued."""
    alertes = make_newsletter(slug="alertes")
    readers = [
        make_subscriber(
            email=f"{name}@exemple.org", status="confirmed", newsletters=[None, alertes]
        )
        for name in names
    ]
    issue = make_issue(articles=1, newsletter=alertes)
    Delivery.objects.create_for(issue)
    Issue.objects.filter(pk=issue.pk).update(status=Issue.Status.SENDING)
    return Issue.objects.get(pk=issue.pk), alertes, readers


def test_a_reader_who_complains_about_an_uncertain_delivery_is_not_sent_it_again(smtp_server):
    """A delivery left uncertain by an interrupted send, whose reader then
    complains: « renvoyer les incertains » sends it to the others only."""
    issue, _alertes, (complains, other) = alertes_issue_for("plaignant", "autre")
    Delivery.objects.filter(issue=issue).update(
        status=Delivery.Status.UNCERTAIN, message_id="<incertain@newsroom.localhost>"
    )
    Delivery.objects.filter(subscriber=other).update(message_id="<autre@newsroom.localhost>")
    MailEvent.objects.record(
        MailEvent.Kind.COMPLAINT,
        key="plainte",
        message_id="<incertain@newsroom.localhost>",
        email=complains.email,
        source="Mailgun",
    )
    assert issue.resend_uncertain() == 2
    send_issue(issue)
    assert recipients(smtp_server) == ["autre@exemple.org"]
    assert Delivery.objects.get(subscriber=complains).status == Delivery.Status.SKIPPED


@pytest.mark.parametrize("change", ["leaves", "is blocked"])
def test_a_claimed_delivery_taken_back_after_a_crash_goes_only_to_current_readers(
    smtp_server, change
):
    """A sender died with a batch claimed; meanwhile one reader left the
    newsletter (still receiving another) or was blocked after a bounce. The
    next sender takes the batch back, and sends it to the others only."""
    issue, alertes, (changed, stays) = alertes_issue_for("change", "reste")
    Delivery.objects.filter(issue=issue).update(
        status=Delivery.Status.CLAIMED, claimed_at=timezone.now()
    )
    if change == "leaves":
        changed.leave(alertes, ConsentEvent.Method.LINK)
    else:
        changed.suppress(Suppression.HARD_BOUNCE)
    assert Subscriber.objects.get(pk=changed.pk).status == Subscriber.Status.CONFIRMED
    counts = send_issue(issue)
    assert recipients(smtp_server) == ["reste@exemple.org"]
    assert counts["skipped"] == 1 and counts["sent"] == 1


def test_a_reader_who_leaves_while_their_batch_is_being_sent_does_not_get_it(
    smtp_server, monkeypatch
):
    """The batch is claimed, then a reader in it leaves the newsletter before
    their message goes: it is not sent to them."""
    issue, alertes, (leaves, stays) = alertes_issue_for("part", "reste")
    claim = DeliveryQuerySet.claim

    def claim_then_leave(self, issue, size):
        batch = claim(self, issue, size)
        if batch:
            Subscriber.objects.get(pk=leaves.pk).leave(alertes, ConsentEvent.Method.ONE_CLICK)
        return batch

    monkeypatch.setattr(DeliveryQuerySet, "claim", claim_then_leave)
    counts = send_issue(issue)
    assert recipients(smtp_server) == ["reste@exemple.org"]
    assert counts["skipped"] == 1 and counts["waiting"] == 0


@pytest.mark.parametrize("action", ["tout-envoyer", "", "send\x00"])
def test_an_unknown_action_on_the_send_page_sends_nothing(admin_client, action):
    """A made-up « action » posted to the send page is refused (400, in
    French): the issue stays a draft and nobody is queued."""
    make_subscriber(status=Subscriber.Status.CONFIRMED)
    issue = make_issue(articles=1)
    response = admin_client.post(
        reverse("admin:newsletter_issue_send", args=[issue.pk]), {"action": action}
    )
    assert response.status_code == 400
    assert "Cette action n’existe pas" in response.content.decode()
    assert Issue.objects.get(pk=issue.pk).status == Issue.Status.DRAFT
    assert not Delivery.objects.exists()


@pytest.mark.parametrize("status", [Issue.Status.SENDING, Issue.Status.PAUSED, Issue.Status.SENT])
def test_queueing_an_issue_again_once_started_adds_nobody(status):
    """queue() reads the issue's status under its lock: called again (a second
    click, two editors at once) once sending has started, it queues nobody,
    not even readers who subscribed since."""
    make_subscriber(status=Subscriber.Status.CONFIRMED)
    issue = make_issue(articles=1)
    assert issue.queue(start_sender=False) == 1
    Issue.objects.filter(pk=issue.pk).update(status=status)
    make_subscriber(status=Subscriber.Status.CONFIRMED)
    assert issue.queue(start_sender=False) is None
    assert Delivery.objects.count() == 1
    assert Issue.objects.get(pk=issue.pk).status == status


def test_resending_the_uncertain_deliveries_of_a_paused_send_keeps_it_paused(
    admin_client, django_capture_on_commit_callbacks
):
    """« Renvoyer les incertains » on a send the guardrails paused puts the
    uncertain deliveries back in the queue, but the send stays paused (and no
    sender starts): they go when an editor resumes it."""
    issue, _alertes, _readers = alertes_issue_for("un", "deux")
    Delivery.objects.filter(issue=issue).update(status=Delivery.Status.UNCERTAIN)
    Issue.objects.filter(pk=issue.pk).update(status=Issue.Status.PAUSED, pause_reason="Plaintes")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(
            reverse("admin:newsletter_issue_resend", args=[issue.pk]), follow=True
        )
    assert "l’envoi reste suspendu" in response.content.decode()
    assert callbacks == []
    issue.refresh_from_db()
    assert issue.status == Issue.Status.PAUSED
    assert issue.progress()["waiting"] == 2
