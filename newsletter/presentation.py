"""What the public pages show of the newsletter: the signup form's values and
the consent wording (public_templates/includes/newsletter_form.html places them)."""

from django.core.cache import cache
from django.db import DatabaseError

from newsletter.forms import SubscribeForm, form_stamp
from newsletter.models import CONSENT_TEXT_CACHE_KEY, ConsentText, Newsletter
from newsroom.pagecache import versioned_key, versioned_timeout

SIGNUP_CHOICES_CACHE_KEY = "newsletter:signup-choices"


def signup_choices():
    """The public newsletters as the form shows them (cached under the content
    clock, so that pages carrying the form make no query for them)."""
    try:
        key = versioned_key(SIGNUP_CHOICES_CACHE_KEY)
        choices = cache.get(key)
        if choices is None:
            choices = [
                {
                    "value": str(newsletter.pk),
                    "name": newsletter.name,
                    "description": newsletter.description,
                    "is_default": newsletter.is_default,
                }
                for newsletter in Newsletter.objects.public()
            ]
            cache.set(key, choices, versioned_timeout(3600))
    except DatabaseError:
        return []
    return choices


def newsletter_form(request, form=None):
    """The signup form, the same markup wherever it is shown: under articles
    (empty, recording the page it was sent from) and on the newsletter page
    (``form``: the view's, with what the reader typed and what is wrong).

    It has no CSRF token: the pages that carry it are cached whole and send no
    cookie; the view checks the browser's Origin/Sec-Fetch-Site instead. Its
    bot traps are a field people never see (bots fill it) and the signed time
    the form was shown (bots post at once), fresh at every rendering.

    The public newsletters are checkboxes; the default one is ticked, unless
    the reader's own choices come back with an error."""
    if form is None:
        form = SubscribeForm(initial={"source": request.path if request is not None else ""})
    choices = signup_choices()
    if form.is_bound:
        ticked = set(form.data.getlist("newsletters")) if hasattr(form.data, "getlist") else set()
    else:
        ticked = {choice["value"] for choice in choices if choice["is_default"]}
    return {"form": form, "stamp": form_stamp(), "choices": choices, "ticked": ticked}


def consent_text():
    """The current wording of consent, shown under the form (cached)."""
    try:
        key = versioned_key(CONSENT_TEXT_CACHE_KEY)
        text = cache.get(key)
        if text is None:
            current = ConsentText.objects.current()
            text = current.text if current else ""
            cache.set(key, text, versioned_timeout(3600))
    except DatabaseError:
        return ""
    return text
