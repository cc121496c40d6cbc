"""Bounces and complaints (#11 §2), end to end with real messages: an issue
sent to the test SMTP server; delivery status notifications (RFC 3464)
delivered over SMTP into a Maildir and read by `manage.py read_bounces`;
provider webhooks posted over HTTP with valid and invalid signatures;
suppression; the guardrails that pause a send and tell the editors."""

import hashlib
import hmac
import json
import mailbox
import re
import smtplib
import time
import urllib.error
import urllib.request
from base64 import b64encode
from datetime import timedelta
from email import message_from_bytes, policy
from email.utils import format_datetime, make_msgid

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from newsletter.bounces import record_report_message
from newsletter.models import (
    Delivery,
    Issue,
    MailEvent,
    Newsletter,
    Subscriber,
    Subscription,
    Suppression,
)
from newsletter.sending import send_issue
from tests.conftest import free_port
from tests.factories import make_issue, make_newsletter, make_subscriber, make_user
from tests.newsletter_tests.test_sending import confirmed_subscribers

pytestmark = pytest.mark.django_db
SIGNING_KEY = "cle-de-signature-mailgun"
BASIC_AUTH = "fournisseur:mot-de-passe-du-webhook"


def sent_messages(smtp_server):
    """{recipient: Message-ID} of what the test SMTP server received."""
    received = {}
    for envelope in smtp_server:
        message = message_from_bytes(envelope.content, policy=policy.default)
        for recipient in envelope.rcpt_tos:
            received[recipient] = message["Message-ID"]
    return received


def dsn(
    recipient, original_message_id, *, action="failed", status="5.1.1", dsn_id=None, date=None
):
    """A delivery status notification as Postfix writes it (RFC 3464): a human
    part, the machine-readable status, and the returned message's headers."""
    boundary = "DSN-boundary-1"
    diagnostic = {
        "5": "smtp; 550 5.1.1 <{0}>: Recipient address rejected: User unknown",
        "4": "smtp; 452 4.2.2 <{0}>: Mailbox full",
    }[status[0]].format(recipient)
    return (
        f"From: MAILER-DAEMON@mx.exemple.org (Mail Delivery System)\r\n"
        f"To: newsletter@newsroom.localhost\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {format_datetime(date or timezone.now())}\r\n"
        f"Message-ID: {dsn_id or make_msgid(domain='mx.exemple.org')}\r\n"
        f"MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        f"\r\n"
        f"--{boundary}\r\n"
        f"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        f"This is the mail system at host mx.exemple.org.\r\n"
        f"I'm sorry to have to inform you that your message could not be delivered.\r\n\r\n"
        f"--{boundary}\r\n"
        f"Content-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.exemple.org\r\n"
        f"Arrival-Date: {format_datetime(timezone.now())}\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Original-Recipient: rfc822;{recipient}\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        f"Remote-MTA: dns; mx.exemple.org\r\n"
        f"Diagnostic-Code: {diagnostic}\r\n\r\n"
        f"--{boundary}\r\n"
        f"Content-Type: text/rfc822-headers\r\n\r\n"
        f"From: Newsroom <newsletter@newsroom.localhost>\r\n"
        f"To: {recipient}\r\n"
        f"Subject: La semaine en Asie centrale\r\n"
        f"Message-ID: {original_message_id}\r\n\r\n"
        f"--{boundary}--\r\n"
    ).encode()


@pytest.fixture
def bounce_mailbox(tmp_path):
    """A real SMTP server whose messages land in a Maildir: the bounce
    mailbox. Yields (port, Maildir path)."""
    path = tmp_path / "bounces"
    port = free_port()
    controller = Controller(Mailbox(path), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, path
    finally:
        controller.stop()


def deliver(port, raw, recipient="bounces@newsroom.localhost"):
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.sendmail("MAILER-DAEMON@mx.exemple.org", [recipient], raw)


def test_dsns_delivered_to_the_bounce_mailbox_are_read_once(
    smtp_server, bounce_mailbox, settings, capsys
):
    """An issue goes out; the receiving servers send back a DSN for an unknown
    mailbox (5.1.1) and one for a full one (4.2.2, delayed), plus an auto-reply.
    `read_bounces` blocks the first address, counts the soft bounce without
    blocking, ignores the auto-reply, and reading again changes nothing."""
    settings.NEWSLETTER_BOUNCE_ADDRESS = "bounces@newsroom.localhost"
    confirmed_subscribers(4)
    issue = make_issue(articles=1)
    Delivery.objects.create_for(issue)
    send_issue(issue)
    assert {envelope.mail_from for envelope in smtp_server} == {"bounces@newsroom.localhost"}
    message_ids = sent_messages(smtp_server)
    port, maildir = bounce_mailbox
    deliver(port, dsn("abonne0@exemple.org", message_ids["abonne0@exemple.org"]))
    deliver(
        port,
        dsn(
            "abonne1@exemple.org",
            message_ids["abonne1@exemple.org"],
            action="delayed",
            status="4.2.2",
        ),
    )
    deliver(port, b"From: lecteur@exemple.org\r\nSubject: Absent\r\n\r\nJe suis en vacances.\r\n")

    call_command("read_bounces", maildir=str(maildir))
    assert "2 rapport(s) lu(s), 2 retour(s) nouveau(x)" in capsys.readouterr().out
    call_command("read_bounces", maildir=str(maildir), all=True)
    assert "2 rapport(s) lu(s), 0 retour(s) nouveau(x)" in capsys.readouterr().out
    call_command("read_bounces", maildir=str(maildir))
    assert "0 rapport(s) lu(s)" in capsys.readouterr().out

    hard = Subscriber.objects.get(email="abonne0@exemple.org")
    soft = Subscriber.objects.get(email="abonne1@exemple.org")
    assert hard.suppression_reason == Suppression.HARD_BOUNCE and hard.suppressed_at
    assert soft.suppressed_at is None and soft.soft_bounces_in_a_row() == 1
    events = MailEvent.objects.order_by("kind")
    assert [(e.kind, e.subscriber, e.issue, e.source) for e in events] == [
        (MailEvent.Kind.HARD_BOUNCE, hard, issue, "DSN"),
        (MailEvent.Kind.SOFT_BOUNCE, soft, issue, "DSN"),
    ]
    assert "5.1.1" in events[0].detail and "abonne0@exemple.org" not in events[0].detail
    # Blocked addresses are left out of the next issue (and kept in the log).
    following = make_issue(articles=1)
    assert Delivery.objects.create_for(following) == 3
    assert not following.deliveries.filter(subscriber=hard).exists()


def issues_sent(count, prefix):
    """``count`` issues marked sent to every confirmed subscriber; their
    Message-IDs, in order."""
    ids = []
    for number in range(count):
        issue = make_issue(articles=0, subject=f"Numéro {number}")
        Delivery.objects.create_for(issue)
        message_id = f"<{prefix}{number}@newsroom.localhost>"
        Delivery.objects.filter(issue=issue).update(
            status=Delivery.Status.SENT, message_id=message_id
        )
        ids.append(message_id)
    return ids


def soft_bounce(email, message_id, dsn_id, date):
    """A « delayed » DSN (4.2.2, mailbox full) about ``message_id``, read from
    the bounce mailbox."""
    record_report_message(
        dsn(email, message_id, action="delayed", status="4.2.2", dsn_id=dsn_id, date=date)
    )


def test_soft_bounces_block_an_address_after_the_limit(settings):
    """Soft bounces of different messages in a row block the address at
    NEWSLETTER_SOFT_BOUNCE_LIMIT; several notices about one message count once,
    and a delivery in between starts the count again."""
    settings.NEWSLETTER_SOFT_BOUNCE_LIMIT = 3
    subscriber = make_subscriber(email="pleine@exemple.org", status="confirmed")
    ids = issues_sent(4, "n")
    start = timezone.now() - timedelta(days=1)

    def soft(message_id, dsn_id, hours):
        soft_bounce("pleine@exemple.org", message_id, dsn_id, start + timedelta(hours=hours))

    soft(ids[0], "<a@mx>", 1)
    soft(ids[0], "<b@mx>", 2)  # the same message, delayed again
    soft(ids[1], "<c@mx>", 3)
    assert Subscriber.objects.get(pk=subscriber.pk).suppressed_at is None
    MailEvent.objects.record(
        MailEvent.Kind.DELIVERED,
        key="livre",
        message_id=ids[1],
        source="Mailgun",
        at=start + timedelta(hours=4),
    )
    soft(ids[2], "<d@mx>", 5)
    soft(ids[3], "<e@mx>", 6)
    assert Subscriber.objects.get(pk=subscriber.pk).suppressed_at is None
    soft(ids[0], "<f@mx>", 7)
    subscriber.refresh_from_db()
    assert subscriber.suppression_reason == Suppression.SOFT_BOUNCES


def test_soft_bounces_older_than_the_window_no_longer_count(settings):
    """Without a provider's « delivered » events nothing else resets the
    count: a soft bounce older than NEWSLETTER_SOFT_BOUNCE_DAYS is forgotten,
    so a mailbox that was full now and then over a year is not blocked, and
    three within the window still are."""
    settings.NEWSLETTER_SOFT_BOUNCE_LIMIT = 3
    settings.NEWSLETTER_SOFT_BOUNCE_DAYS = 30
    subscriber = make_subscriber(email="parfois@exemple.org", status="confirmed")
    ids = issues_sent(4, "p")
    now = timezone.now()
    for number, days_ago in enumerate([200, 100, 1]):
        soft_bounce(
            "parfois@exemple.org", ids[number], f"<r{number}@mx>", now - timedelta(days=days_ago)
        )
    assert MailEvent.objects.filter(subscriber=subscriber).count() == 3
    assert Subscriber.objects.get(pk=subscriber.pk).suppressed_at is None

    settings.NEWSLETTER_SOFT_BOUNCE_DAYS = 365
    soft_bounce("parfois@exemple.org", ids[3], "<r3@mx>", now)
    assert Subscriber.objects.get(pk=subscriber.pk).suppression_reason == Suppression.SOFT_BOUNCES


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\xff\xfe garbage",
        b"Content-Type: multipart/report; report-type=delivery-status\r\n\r\nno parts",
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: x\r\n--b--\r\n",
        dsn("inconnu@exemple.org", "<rien@nulle.part>"),
        dsn("inconnu\x00@exemple.org", "<rien\x00@nulle.part>", dsn_id="<\x00@mx>"),
    ],
)
def test_malformed_or_unknown_reports_are_ignored(raw):
    """Whatever is in the mailbox, reading it never fails, and nothing is kept
    about addresses that are not subscribers."""
    assert record_report_message(raw).new_events == 0
    assert not MailEvent.objects.exists()


def test_reading_a_message_says_whether_it_was_a_report_and_what_was_new():
    """A report gives the number of events it recorded for the first time
    (none when read again); any other message is not a report."""
    sent_delivery("plein@exemple.org", "<plein@newsroom.localhost>")
    report = dsn("plein@exemple.org", "<plein@newsroom.localhost>")
    first, again = record_report_message(report), record_report_message(report)
    assert (first.is_report, first.new_events) == (True, 1)
    assert (again.is_report, again.new_events) == (True, 0)
    assert record_report_message(b"Subject: Absent\r\n\r\nEn vacances.").is_report is False


def test_a_missing_mailbox_gets_a_clear_message(tmp_path):
    """A path that is not a Maildir, or no mailbox at all, is a clear error."""
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Maildir"):
        call_command("read_bounces", maildir=str(tmp_path / "absente"))
    with pytest.raises(CommandError, match="BOUNCE_MAILBOX_URL"):
        call_command("read_bounces")


def mailgun_body(event, recipient, message_id, *, key=SIGNING_KEY, token="jeton-1"):
    timestamp = str(int(time.time()))
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256)
    return json.dumps(
        {
            "signature": {
                "timestamp": timestamp,
                "token": token,
                "signature": signature.hexdigest(),
            },
            "event-data": {
                "event": event,
                "timestamp": time.time(),
                "recipient": recipient,
                "message": {"headers": {"message-id": message_id.strip("<>")}},
                "severity": "permanent",
            },
        }
    ).encode()


def post(url, body, headers=None):
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_provider_webhooks_over_http_with_valid_and_invalid_signatures(
    live_server, smtp_server, settings
):
    """Mailgun's signed webhook and Postmark's basic-auth one, posted over HTTP
    to the running site: a valid complaint blocks the address; a wrong
    signature or password is refused and changes nothing; a provider whose
    secret is not configured has no webhook at all."""
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY, "WEBHOOK_SECRET": [BASIC_AUTH]}
    confirmed_subscribers(3)
    issue = make_issue(articles=1)
    Delivery.objects.create_for(issue)
    send_issue(issue)
    ids = sent_messages(smtp_server)
    mailgun = live_server.url + reverse("newsletter:provider-webhook", args=["mailgun"])
    postmark = live_server.url + reverse("newsletter:provider-webhook", args=["postmark"])
    # With a webhook secret set, anymail asks it of every provider, Mailgun too.
    right = {"Authorization": "Basic " + b64encode(BASIC_AUTH.encode()).decode()}

    forged = mailgun_body(
        "complained", "abonne0@exemple.org", ids["abonne0@exemple.org"], key="une-autre-cle"
    )
    assert post(mailgun, forged, right) == 400
    assert post(mailgun, b"{not json", right) == 400
    assert not MailEvent.objects.exists()

    signed = mailgun_body("complained", "abonne0@exemple.org", ids["abonne0@exemple.org"])
    assert post(mailgun, signed) == 400  # without the secret
    assert post(mailgun, signed, right) == 200
    assert post(mailgun, signed, right) == 200  # a provider retrying counts once
    complainer = Subscriber.objects.get(email="abonne0@exemple.org")
    assert complainer.suppression_reason == Suppression.COMPLAINT
    assert MailEvent.objects.get().issue == issue

    bounce = json.dumps(
        {
            "RecordType": "Bounce",
            "Type": "HardBounce",
            "ID": 4242,
            "Email": "abonne1@exemple.org",
            "MessageID": "identifiant-postmark",
            "BouncedAt": timezone.now().isoformat(),
            "Details": "smtp;550 5.1.1 The email account does not exist",
        }
    ).encode()
    wrong = "Basic " + b64encode(b"fournisseur:faux").decode()
    assert post(postmark, bounce, {"Authorization": wrong}) == 400
    assert post(postmark, bounce) == 400
    assert Subscriber.objects.get(email="abonne1@exemple.org").suppressed_at is None
    assert post(postmark, bounce, right) == 200
    bounced = Subscriber.objects.get(email="abonne1@exemple.org")
    assert bounced.suppression_reason == Suppression.HARD_BOUNCE
    # No Message-ID of ours: matched by address, to the issue it last received.
    assert MailEvent.objects.get(subscriber=bounced).issue == issue

    assert post(live_server.url + "/newsletter/webhooks/inconnu/", bounce) == 404
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": "", "WEBHOOK_SECRET": []}
    assert post(postmark, bounce, right) == 404
    assert post(mailgun, signed, right) == 404


def test_an_unsubscribe_at_the_provider_leaves_that_newsletter(client, settings):
    """A provider's « unsubscribed » event (its own unsubscribe handling) leaves
    the newsletter of the message, logged as done at the provider."""
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY, "WEBHOOK_SECRET": []}
    alertes = make_newsletter(slug="alertes")
    subscriber = make_subscriber(
        email="l@exemple.org", status="confirmed", newsletters=[None, alertes]
    )
    issue = make_issue(articles=0, newsletter=alertes)
    Delivery.objects.create_for(issue)
    Delivery.objects.update(status=Delivery.Status.SENT, message_id="<m1@newsroom.localhost>")
    response = client.post(
        "/newsletter/webhooks/mailgun/",
        mailgun_body("unsubscribed", "l@exemple.org", "<m1@newsroom.localhost>"),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert list(subscriber.newsletters_in(Subscription.Status.ACTIVE)) == [
        Newsletter.objects.default()
    ]
    assert subscriber.consent_events.get(kind="withdrawn").method == "provider"
    assert issue.feedback()["unsubscribed"] == 1


def test_complaints_past_the_limit_pause_the_send_and_tell_the_editors_once(
    smtp_server, settings, admin_client
):
    """Complaints come in while the issue is going out: two of them, past
    0.3 % of the messages sent, and the sender stops before its next batch, the issue is
    « suspendue », the editors get one email; its page shows the counts, and
    an editor resumes it, which sends the rest without pausing again."""
    settings.NEWSLETTER_BATCH_SIZE = 10
    settings.NEWSLETTER_GUARDRAIL_MIN_SENT = 10
    editor = make_user(email="cheffe@exemple.org", perms=["newsletter.send_issue"])
    confirmed_subscribers(40)
    issue = make_issue(articles=1)
    issue.queue(start_sender=False)

    def complaint_after_the_first_batch(counts):
        if counts["sent"] == 10:
            for number, delivery in enumerate(
                Delivery.objects.filter(status=Delivery.Status.SENT)[:2]
            ):
                MailEvent.objects.record(
                    MailEvent.Kind.COMPLAINT,
                    key=f"plainte-{number}",
                    message_id=delivery.message_id,
                    source="Mailgun",
                )

    counts = send_issue(Issue.objects.get(pk=issue.pk), progress=complaint_after_the_first_batch)

    assert counts["sent"] == 10 and counts["waiting"] == 30
    issue.refresh_from_db()
    assert issue.status == Issue.Status.PAUSED and "plainte" in issue.pause_reason
    alerts = [e for e in smtp_server if editor.email in e.rcpt_tos]
    assert len(alerts) == 1
    assert (
        "Envoi suspendu" in message_from_bytes(alerts[0].content, policy=policy.default)["Subject"]
    )
    page = admin_client.get(reverse("admin:newsletter_issue_progress", args=[issue.pk]))
    content = page.content.decode()
    assert '<td id="complained">2</td>' in content and '<td id="delivered">10</td>' in content
    assert "s’est suspendu de lui-même" in content
    # Sending it again (a worker restarting) does not get past the pause.
    assert send_issue(Issue.objects.get(pk=issue.pk))["sent"] == 10

    admin_client.post(reverse("admin:newsletter_issue_resume", args=[issue.pk]))
    send_issue(Issue.objects.get(pk=issue.pk))
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT and issue.progress()["sent"] == 40
    assert len([e for e in smtp_server if editor.email in e.rcpt_tos]) == 1


def test_hard_bounces_arriving_after_the_send_pause_it(settings, smtp_server):
    """Bounces arriving through the bounce mailbox while the issue is still
    sending pause it past 5 % of the messages sent; more bounces do not tell
    the editors again."""
    settings.NEWSLETTER_GUARDRAIL_MIN_SENT = 20
    make_user(email="cheffe@exemple.org", perms=["newsletter.send_issue"])
    confirmed_subscribers(30)
    issue = make_issue(articles=0)
    issue.queue(start_sender=False)
    sent = list(Delivery.objects.select_related("subscriber").order_by("pk")[:20])
    for delivery in sent:
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.SENT,
            sent_at=timezone.now(),
            message_id=f"<d{delivery.pk}@newsroom.localhost>",
        )
    record_report_message(dsn(sent[0].subscriber.email, f"<d{sent[0].pk}@newsroom.localhost>"))
    assert Issue.objects.get(pk=issue.pk).status == Issue.Status.SENDING  # 5 %: not past
    for delivery in sent[1:4]:
        record_report_message(
            dsn(delivery.subscriber.email, f"<d{delivery.pk}@newsroom.localhost>")
        )
    issue.refresh_from_db()
    assert issue.status == Issue.Status.PAUSED and "rebond" in issue.pause_reason
    assert len(smtp_server) == 1
    assert issue.feedback()["bounced"] == 4


def test_recipients_the_server_refuses_are_bounces_the_guardrails_count(
    settings, smtp_server, admin_client
):
    """An address the mail server refuses as unknown while the message is
    handed over (550 5.1.1) is a hard bounce like one reported later: blocked,
    logged without the address the server quoted, shown on the issue's page,
    and counted by the guardrails over the messages tried, which pause the
    send before its next batch. Refusals about the sending rather than the
    reader (greylisting 450 4.7.1, « relay access denied » 554 5.7.1) fail
    that delivery and block nobody."""
    settings.NEWSLETTER_BATCH_SIZE = 10
    settings.NEWSLETTER_GUARDRAIL_MIN_SENT = 10
    confirmed_subscribers(30)
    issue = make_issue(articles=1)
    issue.queue(start_sender=False)
    # Four readers of the first batch (deliveries go out in their order).
    first_batch = Delivery.objects.filter(issue=issue).select_related("subscriber").order_by("pk")
    gone, gone_too, greylisted, not_relayed = (d.subscriber.email for d in first_batch[2:6])
    smtp_server.refuse.update({gone, gone_too})
    smtp_server.refuse_for_now.add(greylisted)
    smtp_server.refuse_relay.add(not_relayed)

    counts = send_issue(Issue.objects.get(pk=issue.pk))

    assert counts["sent"] == 6 and counts["failed"] == 4 and counts["waiting"] == 20
    issue.refresh_from_db()
    assert issue.status == Issue.Status.PAUSED
    assert "2 rebond(s) définitif(s) pour 10 messages tentés (20.0 %)" in issue.pause_reason
    events = MailEvent.objects.all()
    assert {e.kind for e in events} == {MailEvent.Kind.HARD_BOUNCE}
    assert sorted(e.subscriber.email for e in events) == sorted([gone, gone_too])
    for event in events:
        assert event.source == "smtp" and event.detail.startswith("550 5.1.1 <…>")
    blocked = Subscriber.objects.filter(suppressed_at__isnull=False)
    assert sorted(blocked.values_list("email", flat=True)) == sorted([gone, gone_too])
    assert set(blocked.values_list("suppression_reason", flat=True)) == {Suppression.HARD_BOUNCE}
    errors = dict(
        Delivery.objects.filter(status=Delivery.Status.FAILED).values_list(
            "subscriber__email", "error"
        )
    )
    assert errors[greylisted].startswith("450 4.7.1 <…>")
    assert errors[not_relayed].startswith("554 5.7.1 <…>")
    assert not any("@" in error for error in errors.values())
    feedback = issue.feedback()
    assert (feedback["tried"], feedback["sent"], feedback["delivered"]) == (10, 6, 6)
    assert (feedback["bounced"], feedback["soft_bounced"]) == (2, 0)
    page = admin_client.get(reverse("admin:newsletter_issue_progress", args=[issue.pk]))
    assert '<td id="bounced">2</td>' in page.content.decode()
    assert '<td id="delivered">6</td>' in page.content.decode()


def test_a_blocked_address_gets_no_confirmation_email(client, mailoutbox):
    """An address blocked after a bounce or a complaint gets nothing, not even
    a confirmation email; the answer on the site is the usual one."""
    from tests.factories import signup_data

    subscriber = make_subscriber(email="bloquee@exemple.org")
    subscriber.suppress(Suppression.COMPLAINT)
    response = client.post("/newsletter/", signup_data("bloquee@exemple.org"))
    assert response.status_code == 302
    assert mailoutbox == []


def test_editors_unblock_an_address_from_the_admin(admin_client):
    """« Débloquer l’adresse » lets mail go to it again; its events stay."""
    subscriber = make_subscriber(email="retour@exemple.org", status="confirmed")
    subscriber.suppress(Suppression.HARD_BOUNCE)
    admin_client.post(
        reverse("admin:newsletter_subscriber_changelist"),
        {"action": "unsuppress", "_selected_action": [subscriber.pk]},
    )
    subscriber.refresh_from_db()
    assert subscriber.suppressed_at is None
    page = admin_client.get(reverse("admin:newsletter_subscriber_change", args=[subscriber.pk]))
    assert page.status_code == 200 and re.search(
        r"retours de messagerie", page.content.decode(), re.I
    )


def sent_delivery(email, message_id):
    """A confirmed subscriber at ``email`` whose issue left with ``message_id``."""
    subscriber = make_subscriber(email=email, status="confirmed")
    issue = make_issue(articles=0)
    Delivery.objects.create_for(issue)
    Delivery.objects.filter(issue=issue, subscriber=subscriber).update(
        status=Delivery.Status.SENT, sent_at=timezone.now(), message_id=message_id
    )
    return subscriber


def maildir_with(path, *messages):
    """A Maildir at ``path`` holding ``messages`` (raw bytes), unread."""
    folder = mailbox.Maildir(path, create=True)
    for raw in messages:
        folder.add(raw)
    return path


def test_a_report_with_nul_characters_does_not_stop_the_reader(tmp_path, capsys):
    """A report whose recipient and Message-ID hold NUL characters (which
    PostgreSQL refuses in a string) is read like any other, without them; the
    good report beside it is recorded, and the next run reads nothing again."""
    subscriber = sent_delivery("bon@exemple.org", "<bon@newsroom.localhost>")
    path = maildir_with(
        tmp_path / "bounces",
        dsn("inconnu\x00@exemple.org", "<autre\x00@newsroom.localhost>", dsn_id="<n\x00@mx>"),
        dsn("bon@exemple.org", "<bon@newsroom.localhost>"),
    )
    call_command("read_bounces", maildir=str(path))
    assert "2 rapport(s) lu(s), 1 retour(s) nouveau(x)" in capsys.readouterr().out
    assert Subscriber.objects.get(pk=subscriber.pk).suppression_reason == Suppression.HARD_BOUNCE
    call_command("read_bounces", maildir=str(path))
    assert "0 rapport(s) lu(s), 0 retour(s) nouveau(x)" in capsys.readouterr().out


def test_a_message_that_cannot_be_recorded_is_set_aside(tmp_path, capsys, monkeypatch):
    """Whatever goes wrong while recording one message (here the database
    refusing it), the reader logs it, marks it read, counts it as unreadable
    and goes on: the next message is recorded, and later runs do not stop on
    the bad one."""
    from newsletter.models import MailEventQuerySet

    subscriber = sent_delivery("bon@exemple.org", "<bon@newsroom.localhost>")
    record = MailEventQuerySet.record

    def refuse_one(self, kind, **fields):
        if fields.get("email") == "panne@exemple.org":
            raise ValueError("A string literal cannot contain NUL (0x00) characters.")
        return record(self, kind, **fields)

    monkeypatch.setattr(MailEventQuerySet, "record", refuse_one)
    path = maildir_with(
        tmp_path / "bounces",
        dsn("panne@exemple.org", "<panne@newsroom.localhost>"),
        dsn("bon@exemple.org", "<bon@newsroom.localhost>"),
    )
    call_command("read_bounces", maildir=str(path))
    out = capsys.readouterr().out
    assert "1 rapport(s) lu(s), 1 retour(s) nouveau(x)" in out
    assert "1 message(s) illisible(s)" in out
    assert Subscriber.objects.get(pk=subscriber.pk).suppressed_at is not None
    call_command("read_bounces", maildir=str(path))
    assert "0 rapport(s) lu(s)" in capsys.readouterr().out


def arf(recipient, original_message_id):
    """A feedback report (ARF, RFC 5965): a « spam » click at a mailbox provider."""
    boundary = "ARF-boundary"
    return (
        "From: abuse@fournisseur.example\r\n"
        "To: bounces@newsroom.localhost\r\n"
        "Subject: Plainte\r\n"
        f"Message-ID: {make_msgid(domain='fournisseur.example')}\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=feedback-report; boundary="{boundary}"\r\n'
        "\r\n"
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nUne plainte.\r\n\r\n"
        f"--{boundary}\r\nContent-Type: message/feedback-report\r\n\r\n"
        "Feedback-Type: abuse\r\nUser-Agent: test/1.0\r\nVersion: 1\r\n"
        + (f"Original-Rcpt-To: {recipient}\r\n" if recipient else "")
        + "\r\n"
        f"--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {original_message_id}\r\n\r\n"
        f"--{boundary}--\r\n"
    ).encode()


@pytest.mark.parametrize("report", [dsn, arf])
def test_forged_reports_in_the_bounce_mailbox_block_nobody(report):
    """Anyone can mail the bounce address. A report there acts only on the
    message it names by its Message-ID, and only when the recipient it names
    is that message's: one naming a subscriber with a made-up Message-ID, or
    a real Message-ID with someone else's address, blocks nobody."""
    target = sent_delivery("cible@exemple.org", "<cible@newsroom.localhost>")
    other = sent_delivery("autre@exemple.org", "<autre@newsroom.localhost>")
    record_report_message(report("cible@exemple.org", "<invente@newsroom.localhost>"))
    record_report_message(report("cible@exemple.org", "<autre@newsroom.localhost>"))
    record_report_message(report("cible@exemple.org", ""))
    assert not Subscriber.objects.filter(suppressed_at__isnull=False).exists()
    assert not MailEvent.objects.exists()

    # The genuine report: its Message-ID and its recipient agree.
    record_report_message(report("Cible@Exemple.org", "<cible@newsroom.localhost>"))
    assert Subscriber.objects.get(pk=target.pk).suppressed_at is not None
    assert Subscriber.objects.get(pk=other.pk).suppressed_at is None


def test_a_feedback_report_without_the_recipient_acts_on_its_message_id():
    """Providers often leave the recipient out of a feedback report: the
    Message-ID of the message (which only its recipient received) is then
    enough."""
    target = sent_delivery("cible@exemple.org", "<cible@newsroom.localhost>")
    record_report_message(arf("", "<cible@newsroom.localhost>"))
    assert Subscriber.objects.get(pk=target.pk).suppression_reason == Suppression.COMPLAINT


def sent_to(count):
    """An issue, sending, already sent to ``count`` subscribers."""
    subscribers = confirmed_subscribers(count)
    issue = make_issue(articles=0)
    issue.queue(start_sender=False)
    Delivery.objects.filter(issue=issue).update(
        status=Delivery.Status.SENT, sent_at=timezone.now()
    )
    return Issue.objects.get(pk=issue.pk), subscribers


@pytest.mark.parametrize(
    "kind, min_sent, word",
    [(MailEvent.Kind.COMPLAINT, 100, "plainte"), (MailEvent.Kind.HARD_BOUNCE, 10, "rebond")],
)
def test_one_complaint_or_bounce_does_not_pause_a_small_send(settings, kind, min_sent, word):
    """Past NEWSLETTER_GUARDRAIL_MIN_SENT messages, one complaint (1 % of 100)
    or one hard bounce (10 % of 10) is an accident, not a trend: the send
    goes on. The second one pauses it."""
    settings.NEWSLETTER_GUARDRAIL_MIN_SENT = min_sent
    issue, subscribers = sent_to(min_sent)
    MailEvent.objects.create(key="un", kind=kind, subscriber=subscribers[0], issue=issue)
    assert issue.guardrail_breach() is None and not issue.pause_if_needed()
    MailEvent.objects.create(key="deux", kind=kind, subscriber=subscribers[1], issue=issue)
    assert issue.pause_if_needed()
    assert issue.status == Issue.Status.PAUSED and word in issue.pause_reason
