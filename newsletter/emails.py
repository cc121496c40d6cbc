"""Every email the site sends is rendered by ``render_email`` and built by
``build_message``; the newsletter's are built here and sent by ``sending.py``,
the newsroom's own (``articles/emails.py``) use the same two functions.
Templates are triplets (``<name>_subject.txt``, ``<name>.txt`` and
``<name>.html``) under ``templates/newsletter/emails/``, or the app's folder."""

from email.utils import make_msgid, parseaddr
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import Context
from django.template.loader import get_template, render_to_string
from django.urls import reverse

from articles.plaintext import html_safe, normalize_line
from newsroom.links import absolute_url

# Stand for each subscriber's tokens in an issue rendered once.
TOKEN_PLACEHOLDER = "UNSUBSCRIBETOKENPLACEHOLDER"
PREFERENCES_PLACEHOLDER = "PREFERENCESTOKENPLACEHOLDER"


def _render_plain(template_name: str, context: dict) -> str:
    # The subject and the text part are plain text: nothing is HTML-escaped
    # (« Eau & énergie », not « Eau &amp; énergie »).
    template = get_template(template_name).template
    return template.render(Context(context, autoescape=False))


def render_email(
    name: str, context: dict, folder: str = "newsletter/emails"
) -> tuple[str, str, str]:
    """(subject, text, HTML) of template triplet ``name`` in ``folder`` (another
    app's emails live under its own templates folder). The subject is one line
    with no control character, whatever the stored text holds."""
    context = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context}
    subject = _render_plain(f"{folder}/{name}_subject.txt", context)
    text = _render_plain(f"{folder}/{name}.txt", context)
    html = html_safe(render_to_string(f"{folder}/{name}.html", context))
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
    token = subscriber.make_token(subscriber.TokenPurpose.CONFIRM)
    confirm_url = absolute_url(reverse("newsletter:confirm", args=[token]))
    subject, text, html = render_email(
        "confirmation",
        {
            "confirm_url": confirm_url,
            "unsubscribe_url": subscriber.unsubscribe_url(),
            "preferences_url": subscriber.preferences_url(),
        },
    )
    return build_message(subject, text, html, [subscriber.email])


# Newsletter issues -----------------------------------------------------------------


def render_issue(issue) -> dict:
    """Subject, text and HTML of an issue, rendered once for all subscribers, with
    placeholders where each one's tokens go."""
    from articles.renditions import HeroRenditions

    items = []
    for article in issue.items():
        renditions = HeroRenditions.of(article)
        # The 800-pixel lead copy: sharp on phones, light in an inbox.
        image = renditions.fallback("lead") if renditions else None
        items.append(
            {
                "article": article,
                "url": absolute_url(article.get_absolute_url()),
                "image_url": absolute_url(image.url) if image else "",
            }
        )
    subject, text, html = render_email(
        "issue",
        {
            "issue": issue,
            "paragraphs": [p.strip() for p in issue.introduction.split("\n\n") if p.strip()],
            "items": items,
            "newsletter": issue.newsletter,
            "unsubscribe_url": absolute_url(_unsubscribe_path(issue, TOKEN_PLACEHOLDER)),
            "preferences_url": absolute_url(
                reverse("newsletter:preferences", args=[PREFERENCES_PLACEHOLDER])
            ),
            # Issues of a newsletter that is not public have no public page.
            "web_url": (
                absolute_url(issue.get_absolute_url()) if issue.newsletter.is_public else ""
            ),
        },
    )
    return {
        "subject": subject,
        "text": text,
        "html": html,
        "has_items": bool(items),
        "unsubscribe_path": _unsubscribe_path(issue, TOKEN_PLACEHOLDER),
        "list_id": issue.newsletter.slug,
    }


def _unsubscribe_path(issue, token):
    """The one-click link of an issue: it leaves that issue's newsletter,
    named by its number (renaming it must not break the links already sent)."""
    return reverse("newsletter:unsubscribe-issue", args=[token, issue.newsletter_id, issue.pk])


def _sender_domain():
    address = parseaddr(settings.NEWSLETTER_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or urlsplit(settings.SITE_URL).hostname or "localhost"


def issue_message(rendered, subscriber, *, inert=False, connection=None):
    """The issue as sent to ``subscriber``: text and HTML parts, personal
    unsubscribe and preferences links, and the headers bulk senders must carry
    (RFC 2369 and RFC 8058 unsubscribe, List-Id, Message-ID, Date, From).
    ``inert``: a test copy, whose links change nothing."""
    if inert:
        token = preferences_token = "test"
    else:
        token = subscriber.make_token(subscriber.TokenPurpose.UNSUBSCRIBE)
        preferences_token = subscriber.make_token(subscriber.TokenPurpose.PREFERENCES)
    unsubscribe_url = absolute_url(rendered["unsubscribe_path"].replace(TOKEN_PLACEHOLDER, token))
    mailto = settings.NEWSLETTER_UNSUBSCRIBE_MAILTO or parseaddr(settings.NEWSLETTER_FROM_EMAIL)[1]
    domain = _sender_domain()
    headers = {
        "List-Unsubscribe": (
            f"<{unsubscribe_url}>, <mailto:{mailto}?subject={quote('unsubscribe ' + token)}>"
        ),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": f"{settings.SITE_NAME} <{rendered['list_id']}.newsletter.{domain}>",
        "Message-ID": make_msgid(idstring="newsletter", domain=domain),
        # The envelope sender (below) may be a bounce mailbox; readers see this.
        "From": settings.NEWSLETTER_FROM_EMAIL,
    }

    def personal(part):
        return part.replace(TOKEN_PLACEHOLDER, token).replace(
            PREFERENCES_PLACEHOLDER, preferences_token
        )

    return build_message(
        rendered["subject"],
        personal(rendered["text"]),
        personal(rendered["html"]),
        [subscriber.email],
        # Delivery status notifications go to the envelope sender.
        from_email=settings.NEWSLETTER_BOUNCE_ADDRESS or settings.NEWSLETTER_FROM_EMAIL,
        headers=headers,
        connection=connection,
    )


def proof_message(issue, user) -> EmailMultiAlternatives:
    """The issue as an editor's test copy: marked « [TEST] », with an inert
    unsubscribe link."""
    rendered = render_issue(issue)
    rendered["subject"] = f"[TEST] {rendered['subject']}"

    class Reader:
        email = user.email

    return issue_message(rendered, Reader, inert=True)


def editors_message(name, context, recipients) -> EmailMultiAlternatives:
    """A message to the editors about a send, with a link to its page in the admin."""
    issue = context.get("issue")
    if issue is not None:
        page = "change" if issue.status in issue.NOT_STARTED else "progress"
        url = reverse(f"admin:newsletter_issue_{page}", args=[issue.pk])
        context = {**context, "admin_url": absolute_url(url)}
    subject, text, html = render_email(name, context)
    return build_message(subject, text, html, recipients)
