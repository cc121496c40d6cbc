"""What the public pages show of the newsletter: the signup form's values and
the consent wording (public_templates/includes/newsletter_form.html places them)."""

from django.db import DatabaseError

from newsletter.forms import SubscribeForm, form_stamp
from newsletter.models import ConsentText, Newsletter
from newsroom.pagecache import clock_cached

SIGNUP_CHOICES_CACHE_KEY = "newsletter:signup-choices"
CONSENT_TEXT_CACHE_KEY = "newsletter:consent-text"


def signup_choices():
    """The public newsletters as the form shows them (kept while content is
    unchanged, so that pages carrying the form make no query for them)."""

    def choices():
        return [
            {
                "value": str(newsletter.pk),
                "name": newsletter.name,
                "description": newsletter.description,
                "is_default": newsletter.is_default,
            }
            for newsletter in Newsletter.objects.public()
        ]

    try:
        return clock_cached(SIGNUP_CHOICES_CACHE_KEY, choices, 3600)
    except DatabaseError:
        return []


def newsletter_form(request, form=None):
    """The signup form, the same markup wherever it is shown: under articles
    (empty, recording the page it was sent from) and on the newsletter page
    (``form``: the view's, with what the reader typed and what is wrong).

    It has no CSRF token: the pages that carry it are cached whole and send no
    cookie; the view checks the browser's Origin/Sec-Fetch-Site instead. Its
    bot traps are a field people never see (bots fill it) and the signed time
    the form was shown (bots post at once), fresh at every rendering.

    The public newsletters are checkboxes; the default one is ticked, unless
    the reader's own choices come back with an error. The empty form under an
    article is not built as a Form: its values are known."""
    choices = signup_choices()
    values = {
        "stamp": form_stamp(),
        "choices": choices,
        "email_label": SubscribeForm.base_fields["email"].label,
        "consent": consent_text(),
    }
    if form is None:
        return {
            **values,
            "source": request.path if request is not None else "",
            "email": "",
            "ticked": {choice["value"] for choice in choices if choice["is_default"]},
        }
    if form.is_bound and hasattr(form.data, "getlist"):
        ticked = set(form.data.getlist("newsletters"))
    elif form.is_bound:
        ticked = set()
    else:
        ticked = {choice["value"] for choice in choices if choice["is_default"]}
    return {
        **values,
        "source": form["source"].value() or "",
        "email": form["email"].value() or "",
        "ticked": ticked,
        "errors": form.non_field_errors(),
        "newsletters_errors": form.errors.get("newsletters", []),
        "email_errors": form.errors.get("email", []),
    }


def consent_text():
    """The current wording of consent, shown under the form."""

    def text():
        current = ConsentText.objects.current()
        return current.text if current else ""

    try:
        return clock_cached(CONSENT_TEXT_CACHE_KEY, text, 3600)
    except DatabaseError:
        return ""
