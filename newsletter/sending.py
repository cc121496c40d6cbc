"""Sending: the confirmation email, an editor's test copy, and an issue to all
its waiting deliveries (one sender per issue across processes, paced, resumable,
SMTP answers sorted into failed and uncertain). What is sent is built by
``emails.py``."""

import logging
import re
import smtplib
import time
from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import get_connection
from django.db import connection as db_connection
from django.utils import timezone

from .emails import (
    confirmation_message,
    editors_message,
    issue_message,
    proof_message,
    render_issue,
)
from .models import Delivery, Issue, MailEvent

logger = logging.getLogger(__name__)

# Advisory-lock namespace: one sender per issue at a time, across processes.
SENDER_LOCK_NAMESPACE = 7_401


def send_confirmation(subscriber) -> bool:
    """Send the double opt-in email. Returns False (and logs) when the mail server
    refuses it, so the caller can let the address ask again."""
    try:
        confirmation_message(subscriber).send()
    except Exception:
        logger.exception("Could not send the confirmation email to subscriber %s", subscriber.pk)
        return False
    return True


def editors():
    """The addresses of the staff who may send newsletters."""
    users = get_user_model().objects.with_perm(
        "newsletter.send_issue",
        include_superusers=True,
        backend="django.contrib.auth.backends.ModelBackend",
    )
    return sorted(set(users.exclude(email="").values_list("email", flat=True)))


def notify_editors(name, context) -> bool:
    """Tell the editors something about a send (template triplet ``name``).
    Returns False (and logs) when there is nobody to tell or the mail server
    refuses: a warning must never stop the work that raised it."""
    recipients = editors()
    if not recipients:
        logger.warning("No editor with an email address to tell about %s.", name)
        return False
    try:
        editors_message(name, context, recipients).send()
    except Exception:
        logger.exception("Could not tell the editors about %s.", name)
        return False
    return True


def check_guardrails(issue) -> bool:
    """Pause ``issue``'s send if its complaints or hard bounces passed the
    limits, and tell the editors, once (only the call that paused it does).
    Returns whether the send is paused now."""
    if issue.pause_if_needed():
        logger.warning("Issue %s paused by the guardrails: %s", issue.pk, issue.pause_reason)
        notify_editors("editors_paused", {"issue": issue, "counts": issue.feedback()})
        return True
    return issue.status == Issue.Status.PAUSED


def send_test(issue, user) -> None:
    """Send the issue to an editor, marked as a test; its unsubscribe link is inert."""
    proof_message(issue, user).send()


@contextmanager
def sender_lock(issue):
    """Hold the issue's sending lock for the duration; yields whether it was
    obtained. PostgreSQL releases it if the sender dies, with its connection."""
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [SENDER_LOCK_NAMESPACE, issue.pk])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with db_connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_unlock(%s, %s)", [SENDER_LOCK_NAMESPACE, issue.pk]
                )


def sender_is_running(issue) -> bool:
    """Whether a sender holds the issue's lock, asked without taking it (taking
    it, even briefly, could turn a starting sender away)."""
    with db_connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT EXISTS (
                SELECT 1 FROM pg_locks
                WHERE locktype = 'advisory' AND classid = %s AND objid = %s
                  AND objsubid = 2 AND granted
                  AND database = (SELECT oid FROM pg_database
                                  WHERE datname = current_database())
            )
            """,
            [SENDER_LOCK_NAMESPACE, issue.pk],
        )
        return cursor.fetchone()[0]


class Pace:
    """At most ``rate`` messages a second (0: no limit)."""

    def __init__(self, rate):
        self.interval = 1 / rate if rate and rate > 0 else 0
        self.next_at = time.monotonic()

    def wait(self):
        if not self.interval:
            return
        delay = self.next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self.next_at = max(self.next_at, time.monotonic()) + self.interval


def send_issue(issue, *, connection=None, batch_size=None, rate=None, progress=None):
    """Send ``issue`` to every delivery still waiting, in batches, over reused
    connections to the mail server (``connection``, or the site's), at the
    configured rate. Resumable: a sender that died left
    its claimed deliveries to be taken again, and the ones it was handing to the
    mail server marked uncertain (never resent blindly).

    Returns the issue's progress counts, or None if another sender is at work
    (that one also takes what was queued while it finished)."""
    counts = None
    while True:
        with sender_lock(issue) as acquired:
            if not acquired:
                return counts
            counts, sendable = _send_waiting(issue, connection, batch_size, rate, progress)
        # Work queued while this sender was finishing (its task found the lock
        # taken and gave up): take it now rather than leave it stranded.
        pending = Delivery.objects.filter(issue=issue, status=Delivery.Status.PENDING)
        if not sendable or not pending.exists():
            return counts


def _send_waiting(issue, connection, batch_size, rate, progress):
    batch_size = batch_size or settings.NEWSLETTER_BATCH_SIZE
    rate = settings.NEWSLETTER_RATE_PER_SECOND if rate is None else rate
    # Holding the lock, no other sender is alive: what is claimed or in flight
    # belongs to one that died.
    Delivery.objects.recover(issue)
    rendered = render_issue(issue)
    if not rendered["has_items"]:
        # The articles were unpublished since the issue was queued: sending an
        # empty newsletter would help nobody. Deliveries wait for an editor.
        logger.warning("Issue %s has no published article left: not sent.", issue.pk)
        return issue.progress(), False
    pace = Pace(rate)
    mail = connection or get_connection()
    try:
        # One connection per batch: reused for its messages, and renewed before
        # servers that cap messages per connection say no.
        while True:
            # Paused (by an event that just came in, or by the rates now): the
            # rest waits for an editor.
            issue.refresh_from_db(fields=["status", "guardrails_off"])
            if issue.status == Issue.Status.PAUSED or check_guardrails(issue):
                return issue.progress(), False
            mail.open()  # before claiming: a server that is down costs nothing
            batch = Delivery.objects.claim(issue, batch_size)
            if not batch:
                break
            for delivery in batch:
                _deliver(delivery, rendered, mail)
                pace.wait()
            mail.close()
            if progress:
                progress(issue.progress())
    finally:
        mail.close()
    counts = issue.progress()
    if counts["waiting"] == 0:
        Issue.objects.filter(pk=issue.pk, status=Issue.Status.SENDING).update(
            status=Issue.Status.SENT, finished_at=timezone.now()
        )
    return counts, True


def _deliver(delivery, rendered, mail):
    message = issue_message(rendered, delivery.subscriber, connection=mail)
    # Each step checks the state it expects, so a delivery is never handed
    # over twice.
    if not Delivery.objects.hand_over(delivery, message.extra_headers["Message-ID"]):
        return
    in_flight = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING)
    try:
        message.send()
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as e:
        # The server said no to this message: retrying would not help.
        email = delivery.subscriber.email
        in_flight.update(status=Delivery.Status.FAILED, error=_smtp_reason(e, email))
        if isinstance(e, smtplib.SMTPRecipientsRefused):
            _record_refusal(delivery, message.extra_headers["Message-ID"], e)
        return
    except (smtplib.SMTPException, OSError):
        # The connection broke while the message was being handed over: it may
        # have left. Uncertain, not resent blindly; this run stops, the next one
        # resumes with the rest.
        in_flight.update(status=Delivery.Status.UNCERTAIN)
        raise
    in_flight.update(status=Delivery.Status.SENT, sent_at=timezone.now())


# An enhanced status code (RFC 3463) saying the address itself is bad: no such
# mailbox (5.1.1), no such domain (5.1.2), a malformed address (5.1.3)…
BAD_ADDRESS_STATUS = re.compile(r"(?<![\d.])5\.1\.\d{1,3}(?![\d.])")


def _record_refusal(delivery, message_id, error):
    """A recipient refused with a bad-address status (5.1.x) while the message
    is handed over is a hard bounce like one reported later: the address is
    blocked and counts toward the guardrails. Other refusals are about the
    sending, not the reader (« relay access denied », a blocklist, greylisting
    or throttling, 4xx and 5.7.x): the delivery failed, nobody is blocked."""
    answers = list(error.recipients.values())
    code, text = answers[0] if answers else (0, b"")
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if not (500 <= code < 600 and BAD_ADDRESS_STATUS.search(text)):
        return
    email = delivery.subscriber.email
    MailEvent.objects.record(
        MailEvent.Kind.HARD_BOUNCE,
        key=f"smtp-refused:{delivery.pk}",
        message_id=message_id,
        email=email,
        source="smtp",
        detail=_smtp_reason(error, email),
    )


def _smtp_reason(error, email=""):
    """The server's answer, without the address (it would outlive an erasure):
    servers often quote it (« 550 5.1.1 <x@y>: Recipient address rejected »)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        answers = list(error.recipients.values())
        code, text = answers[0] if answers else ("", b"")
    else:
        code, text = getattr(error, "smtp_code", ""), getattr(error, "smtp_error", b"")
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    reason = f"{code} {text}".strip()
    if email:
        reason = re.sub(re.escape(email), "…", reason, flags=re.IGNORECASE)
    return reason[:500]
