"""What comes back after a message left: the providers' tracking webhooks
(django-anymail's ``tracking`` signal) and delivery status notifications
(DSN, RFC 3464) read from the bounce mailbox. Both become MailEvents
(``MailEvent.objects.record``); a send whose rates pass the limits pauses
(``sending.check_guardrails``)."""

import contextlib
import hashlib
import imaplib
import logging
import mailbox
import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from anymail.signals import tracking
from django.dispatch import receiver
from django.utils import timezone

from .models import Issue, MailEvent
from .sending import check_guardrails

logger = logging.getLogger(__name__)

# anymail's normalised event types, as our kinds ("rejected": the provider
# refused to send, as it does for addresses on its own suppression list).
PROVIDER_KINDS = {
    "delivered": MailEvent.Kind.DELIVERED,
    "deferred": MailEvent.Kind.SOFT_BOUNCE,
    "bounced": MailEvent.Kind.HARD_BOUNCE,
    "rejected": MailEvent.Kind.HARD_BOUNCE,
    "complained": MailEvent.Kind.COMPLAINT,
    "unsubscribed": MailEvent.Kind.UNSUBSCRIBED,
}
# Events that move the guardrails' rates.
WATCHED = {MailEvent.Kind.HARD_BOUNCE, MailEvent.Kind.COMPLAINT}


def after_event(event):
    """A recorded event may push its issue's send past the limits."""
    if event is not None and event.kind in WATCHED and event.issue_id:
        issue = Issue.objects.filter(pk=event.issue_id, status=Issue.Status.SENDING).first()
        if issue is not None:
            check_guardrails(issue)


@receiver(tracking)
def record_provider_event(sender, event, esp_name, **kwargs):
    """A provider's webhook (its signature or credentials checked by anymail)
    says what became of a message."""
    kind = PROVIDER_KINDS.get(event.event_type)
    if kind is None:
        return  # opens, clicks, queued…: nothing to act on
    message_id = str(event.message_id or "")
    recipient = str(event.recipient or "")
    key = (
        event.event_id
        or hashlib.sha256(
            f"{event.event_type}|{message_id}|{recipient}|{event.timestamp}".encode()
        ).hexdigest()
    )
    detail = " ".join(
        str(part) for part in (event.reject_reason, event.description, event.mta_response) if part
    )
    after_event(
        MailEvent.objects.record(
            kind,
            key=f"{esp_name}:{key}",
            message_id=message_id,
            email=recipient,
            at=event.timestamp,
            source=esp_name,
            detail=detail,
            authenticated=True,  # anymail checked the provider's signature or password
        )
    )


# Delivery status notifications --------------------------------------------------


@dataclass
class Report:
    """One recipient's line in a DSN."""

    kind: str
    email: str
    message_id: str
    status: str
    detail: str


# Control characters, NUL among them: PostgreSQL refuses NUL in a string, and
# none belongs in an address, a Message-ID or a diagnostic.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _text(value):
    """A header's value as one line of text without control characters (a
    report is a stranger's message: it may hold anything)."""
    return CONTROL_CHARACTERS.sub("", " ".join(str(value or "").split()))


def _address(value):
    """« rfc822; reader@example.org » → « reader@example.org »."""
    value = _text(value).strip()
    kind, _separator, address = value.partition(";")
    return (address if _separator else kind).strip().strip("<>")


def _original_message_id(message):
    """The Message-ID of the message a report is about: from its attached copy
    (message/rfc822) or headers (text/rfc822-headers)."""
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type in ("message/rfc822", "message/rfc822-headers"):
            payload = part.get_payload()
            original = payload[0] if isinstance(payload, list) and payload else payload
            if hasattr(original, "get"):
                return _text(original.get("Message-ID"))
        if content_type == "text/rfc822-headers":
            headers = BytesHeaderParser(policy=policy.compat32).parsebytes(
                part.get_payload(decode=True) or b""
            )
            return _text(headers.get("Message-ID"))
    return ""


def _kind_of(action, status):
    """RFC 3464: « failed » with a 5.x.x status is permanent, with 4.x.x it is
    the sender giving up for now; « delayed » is temporary."""
    if action == "failed":
        return MailEvent.Kind.SOFT_BOUNCE if status.startswith("4") else MailEvent.Kind.HARD_BOUNCE
    if action == "delayed":
        return MailEvent.Kind.SOFT_BOUNCE
    if action == "delivered":
        return MailEvent.Kind.DELIVERED
    return None  # relayed, expanded: nothing known yet


def parse_report(message):
    """The recipients' outcomes in a DSN (multipart/report;
    report-type=delivery-status), or None if ``message`` is not one (an
    auto-reply, spam, a malformed report). A feedback report (ARF, RFC 5965),
    which mailbox providers send for « spam » clicks, is read as a complaint."""
    if message.get_content_type() != "multipart/report":
        return None
    report_type = str(message.get_param("report-type", "") or "").lower()
    if report_type == "feedback-report":
        return _parse_feedback(message)
    if report_type != "delivery-status":
        return None
    status_part = next(
        (p for p in message.walk() if p.get_content_type() == "message/delivery-status"), None
    )
    if status_part is None:
        return None
    groups = status_part.get_payload()
    if not isinstance(groups, list) or len(groups) < 2:
        return None
    message_id = _original_message_id(message)
    reports = []
    for group in groups[1:]:
        action = _text(group.get("Action")).strip().lower()
        status = _text(group.get("Status")).strip().split(" ")[0]
        email = _address(group.get("Final-Recipient")) or _address(group.get("Original-Recipient"))
        kind = _kind_of(action, status)
        if kind is None or not email:
            continue
        diagnostic = _text(group.get("Diagnostic-Code"))
        reports.append(Report(kind, email, message_id, status, f"{status} {diagnostic}".strip()))
    return reports


def _parse_feedback(message):
    feedback = next(
        (p for p in message.walk() if p.get_content_type() == "message/feedback-report"), None
    )
    if feedback is None:
        return None
    groups = feedback.get_payload()
    fields = groups[0] if isinstance(groups, list) and groups else feedback
    email = _address(fields.get("Original-Rcpt-To"))
    message_id = _original_message_id(message)
    if not email and not message_id:
        return None
    kind_text = _text(fields.get("Feedback-Type")).strip() or "abuse"
    return [Report(MailEvent.Kind.COMPLAINT, email, message_id, "", f"ARF {kind_text}")]


@dataclass(frozen=True)
class ReadOutcome:
    """What one message of the bounce mailbox gave."""

    is_report: bool  # a DSN or a feedback report; else an auto-reply, spam…
    new_events: int = 0  # events recorded for the first time (0: all already counted)


NOT_A_REPORT = ReadOutcome(is_report=False)


def record_report_message(raw: bytes) -> ReadOutcome:
    """Record what a message of the bounce mailbox reports."""
    try:
        message = message_from_bytes(raw, policy=policy.default)
        reports = parse_report(message)
    except Exception:  # whatever a stranger's message holds, the reader goes on
        logger.warning("Unreadable message in the bounce mailbox.", exc_info=True)
        return NOT_A_REPORT
    if reports is None:
        return NOT_A_REPORT
    report_id = _text(message.get("Message-ID")) or hashlib.sha256(raw).hexdigest()
    try:
        at = parsedate_to_datetime(str(message.get("Date", "")))
        at = at if timezone.is_aware(at) else None
    except (TypeError, ValueError, IndexError):
        at = None
    new = 0
    for report in reports:
        event = MailEvent.objects.record(
            report.kind,
            key=f"dsn:{report_id}:{report.email.lower()}:{report.kind}",
            message_id=report.message_id,
            email=report.email,
            at=at or timezone.now(),
            source="DSN",
            detail=report.detail,
        )
        if event is not None:
            new += 1
            after_event(event)
    return ReadOutcome(is_report=True, new_events=new)


# Mailboxes ------------------------------------------------------------------------


def read_mailbox(url, *, include_seen=False):
    """Yield (raw message, mark_seen callback) for each message of the bounce
    mailbox at ``url``: ``maildir:///path`` (or a plain path), ``imap://`` or
    ``imaps://user:password@host[:port]/FOLDER``. Messages already marked seen
    are skipped unless ``include_seen``."""
    parts = urlsplit(url)
    if parts.scheme in ("", "maildir"):
        yield from _read_maildir(Path(unquote(parts.path or url)), include_seen)
    elif parts.scheme in ("imap", "imaps"):
        yield from _read_imap(parts, include_seen)
    else:
        raise ValueError(f"Unknown mailbox scheme: {parts.scheme!r} (maildir, imap, imaps)")


def _read_maildir(path, include_seen):
    if not (path / "cur").is_dir() or not (path / "new").is_dir():
        raise FileNotFoundError(f"{path} is not a Maildir (it needs cur/ and new/).")
    folder = mailbox.Maildir(path, factory=None, create=False)
    for key in list(folder.keys()):
        try:
            message = folder.get_message(key)
        except (KeyError, FileNotFoundError):
            continue  # taken by another reader meanwhile
        if "S" in message.get_flags() and not include_seen:
            continue

        def mark_seen(key=key, message=message):
            message.set_subdir("cur")
            message.add_flag("S")
            folder[key] = message

        yield folder.get_bytes(key), mark_seen


def _read_imap(parts, include_seen):
    secure = parts.scheme == "imaps"
    port = parts.port or (993 if secure else 143)
    client = (imaplib.IMAP4_SSL if secure else imaplib.IMAP4)(parts.hostname, port)
    try:
        if not secure:
            client.starttls()
        client.login(unquote(parts.username or ""), unquote(parts.password or ""))
        client.select(unquote(parts.path.strip("/")) or "INBOX")
        _status, found = client.uid("SEARCH", None, "ALL" if include_seen else "UNSEEN")
        for uid in (found[0] or b"").split():
            _status, data = client.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((item[1] for item in data if isinstance(item, tuple)), None)
            if raw is None:
                continue

            def mark_seen(uid=uid):
                client.uid("STORE", uid, "+FLAGS", "(\\Seen)")

            yield raw, mark_seen
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()
