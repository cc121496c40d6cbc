"""Every email the site sends is rendered and sent here. Templates are triplets
under ``templates/newsletter/emails/``: ``<name>_subject.txt``, ``<name>.txt``
and ``<name>.html``."""

import logging
import smtplib
import time
from contextlib import contextmanager
from email.utils import make_msgid, parseaddr
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection as db_connection
from django.template import Context
from django.template.loader import get_template, render_to_string
from django.urls import reverse
from django.utils import timezone

from articles.plaintext import html_safe, normalize_line
from newsroom.links import absolute_url

from .models import Delivery, Issue

logger = logging.getLogger(__name__)

# Stands for each subscriber's unsubscribe token in an issue rendered once.
TOKEN_PLACEHOLDER = "UNSUBSCRIBETOKENPLACEHOLDER"
# Advisory-lock namespace: one sender per issue at a time, across processes.
SENDER_LOCK_NAMESPACE = 7_401


def _render_plain(template_name: str, context: dict) -> str:
    # The subject and the text part are plain text: nothing is HTML-escaped
    # (« Eau & énergie », not « Eau &amp; énergie »).
    template = get_template(template_name).template
    return template.render(Context(context, autoescape=False))


def render_email(name: str, context: dict) -> tuple[str, str, str]:
    """(subject, text, HTML) of template triplet ``name``. The subject is one
    line with no control character, whatever the stored text holds."""
    context = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context}
    subject = _render_plain(f"newsletter/emails/{name}_subject.txt", context)
    text = _render_plain(f"newsletter/emails/{name}.txt", context)
    html = html_safe(render_to_string(f"newsletter/emails/{name}.html", context))
    return normalize_line(subject), text, html


def build_message(subject, text, html, to, *, from_email=None, headers=None, connection=None):
    message = EmailMultiAlternatives(
        subject,
        text,
        from_email or settings.DEFAULT_FROM_EMAIL,
        to,
        headers=headers or {},
        connection=connection,
    )
    message.attach_alternative(html, "text/html")
    return message


def confirmation_message(subscriber) -> EmailMultiAlternatives:
    confirm_url = absolute_url(
        reverse("newsletter:confirm", args=[subscriber.make_token("confirm")])
    )
    subject, text, html = render_email(
        "confirmation",
        {"confirm_url": confirm_url, "unsubscribe_url": subscriber.unsubscribe_url()},
    )
    return build_message(subject, text, html, [subscriber.email])


def send_confirmation(subscriber) -> bool:
    """Send the double opt-in email. Returns False (and logs) when the mail server
    refuses it, so the caller can let the address ask again."""
    try:
        confirmation_message(subscriber).send()
    except Exception:
        logger.exception("Could not send the confirmation email to subscriber %s", subscriber.pk)
        return False
    return True


# Newsletter issues -----------------------------------------------------------------


def render_issue(issue) -> dict:
    """Subject, text and HTML of an issue, rendered once for all subscribers, with
    a placeholder where each one's unsubscribe token goes."""
    from articles.images import largest_rendition, make_renditions

    items = []
    for article in issue.items():
        make_renditions(article)  # no work when the copies exist
        rendition = largest_rendition(article)
        items.append(
            {
                "article": article,
                "url": absolute_url(article.get_absolute_url()),
                "image_url": absolute_url(rendition[0]) if rendition else "",
            }
        )
    subject, text, html = render_email(
        "issue",
        {
            "issue": issue,
            "paragraphs": [p.strip() for p in issue.introduction.split("\n\n") if p.strip()],
            "items": items,
            "unsubscribe_url": absolute_url(
                reverse("newsletter:unsubscribe", args=[TOKEN_PLACEHOLDER])
            ),
            "web_url": absolute_url(issue.get_absolute_url()),
        },
    )
    return {"subject": subject, "text": text, "html": html, "has_items": bool(items)}


def _sender_domain():
    address = parseaddr(settings.NEWSLETTER_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or urlsplit(settings.SITE_URL).hostname or "localhost"


def issue_message(rendered, subscriber, *, token=None, connection=None):
    """The issue as sent to ``subscriber``: text and HTML parts, a personal
    unsubscribe link, and the headers bulk senders must carry (RFC 2369 and
    RFC 8058 unsubscribe, List-Id, Message-ID, Date, From)."""
    token = token or subscriber.make_token("unsubscribe")
    unsubscribe_url = absolute_url(reverse("newsletter:unsubscribe", args=[token]))
    mailto = settings.NEWSLETTER_UNSUBSCRIBE_MAILTO or parseaddr(settings.NEWSLETTER_FROM_EMAIL)[1]
    domain = _sender_domain()
    headers = {
        "List-Unsubscribe": (
            f"<{unsubscribe_url}>, <mailto:{mailto}?subject={quote('unsubscribe ' + token)}>"
        ),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": f"{settings.SITE_NAME} <newsletter.{domain}>",
        "Message-ID": make_msgid(idstring="newsletter", domain=domain),
    }
    return build_message(
        rendered["subject"],
        rendered["text"].replace(TOKEN_PLACEHOLDER, token),
        rendered["html"].replace(TOKEN_PLACEHOLDER, token),
        [subscriber.email],
        from_email=settings.NEWSLETTER_FROM_EMAIL,
        headers=headers,
        connection=connection,
    )


def send_test(issue, user) -> None:
    """Send the issue to an editor, marked as a test; its unsubscribe link is inert."""
    rendered = render_issue(issue)
    rendered["subject"] = f"[TEST] {rendered['subject']}"

    class Reader:
        email = user.email

    issue_message(rendered, Reader, token="test").send()


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


class _Pace:
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


def send_issue(issue, *, batch_size=None, rate=None, progress=None):
    """Send ``issue`` to every delivery still waiting, in batches, over reused
    SMTP connections, at the configured rate. Resumable: a sender that died left
    its claimed deliveries to be taken again, and the ones it was handing to the
    mail server marked uncertain (never resent blindly).

    Returns the issue's progress counts, or None if another sender is at work
    (that one also takes what was queued while it finished)."""
    counts = None
    while True:
        with sender_lock(issue) as acquired:
            if not acquired:
                return counts
            counts, sendable = _send_waiting(issue, batch_size, rate, progress)
        # Work queued while this sender was finishing (its task found the lock
        # taken and gave up): take it now rather than leave it stranded.
        pending = Delivery.objects.filter(issue=issue, status=Delivery.Status.PENDING)
        if not sendable or not pending.exists():
            return counts


def _send_waiting(issue, batch_size, rate, progress):
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
    pace = _Pace(rate)
    mail = get_connection()
    try:
        # One connection per batch: reused for its messages, and renewed before
        # servers that cap messages per connection say no.
        while True:
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
    # Committed before the message leaves: if this process dies now, the
    # delivery is known to be in flight. Each step checks the state it expects,
    # so a delivery is never handed over twice.
    taken = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.CLAIMED).update(
        status=Delivery.Status.SENDING, message_id=message.extra_headers["Message-ID"]
    )
    if not taken:
        return
    in_flight = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING)
    try:
        message.send()
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as e:
        # The server said no to this message: retrying would not help.
        in_flight.update(status=Delivery.Status.FAILED, error=_smtp_reason(e))
        return
    except (smtplib.SMTPException, OSError):
        # The connection broke while the message was being handed over: it may
        # have left. Uncertain, not resent blindly; this run stops, the next one
        # resumes with the rest.
        in_flight.update(status=Delivery.Status.UNCERTAIN)
        raise
    in_flight.update(status=Delivery.Status.SENT, sent_at=timezone.now())


def _smtp_reason(error):
    """The server's answer, without the address (it would outlive an erasure)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        answers = list(error.recipients.values())
        code, text = answers[0] if answers else ("", b"")
    else:
        code, text = getattr(error, "smtp_code", ""), getattr(error, "smtp_error", b"")
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()[:500]
