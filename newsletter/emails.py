"""Every email the site sends is rendered here, from a template triplet:
``<name>_subject.txt``, ``<name>.txt`` and ``<name>.html`` under
``templates/newsletter/emails/``."""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

logger = logging.getLogger(__name__)


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def render_email(name: str, context: dict, to: list[str], headers=None) -> EmailMultiAlternatives:
    context = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context}
    subject = render_to_string(f"newsletter/emails/{name}_subject.txt", context)
    subject = " ".join(subject.split())
    text = render_to_string(f"newsletter/emails/{name}.txt", context)
    html = render_to_string(f"newsletter/emails/{name}.html", context)
    message = EmailMultiAlternatives(
        subject, text, settings.DEFAULT_FROM_EMAIL, to, headers=headers or {}
    )
    message.attach_alternative(html, "text/html")
    return message


def confirmation_message(subscriber) -> EmailMultiAlternatives:
    confirm_url = absolute_url(
        reverse("newsletter:confirm", args=[subscriber.make_token("confirm")])
    )
    unsubscribe_url = absolute_url(
        reverse("newsletter:unsubscribe", args=[subscriber.make_token("unsubscribe")])
    )
    return render_email(
        "confirmation",
        {"confirm_url": confirm_url, "unsubscribe_url": unsubscribe_url},
        [subscriber.email],
    )


def send_confirmation(subscriber) -> bool:
    """Send the double opt-in email. Returns False (and logs) when the mail server
    refuses it, so the caller can let the address ask again."""
    try:
        confirmation_message(subscriber).send()
    except Exception:
        logger.exception("Could not send the confirmation email to subscriber %s", subscriber.pk)
        return False
    return True
