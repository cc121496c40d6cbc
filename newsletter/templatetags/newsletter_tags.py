from zoneinfo import ZoneInfo

from django import template
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from django.utils import timezone

from newsletter.forms import SubscribeForm, form_stamp
from newsletter.models import CONSENT_TEXT_CACHE_KEY, ConsentText, Newsletter
from newsroom.pagecache import versioned_key, versioned_timeout

register = template.Library()
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


@register.inclusion_tag("includes/newsletter_form.html", takes_context=True)
def newsletter_form(context, form=None):
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
        request = context.get("request")
        form = SubscribeForm(initial={"source": request.path if request is not None else ""})
    choices = signup_choices()
    if form.is_bound:
        ticked = set(form.data.getlist("newsletters")) if hasattr(form.data, "getlist") else set()
    else:
        ticked = {choice["value"] for choice in choices if choice["is_default"]}
    return {"form": form, "stamp": form_stamp(), "choices": choices, "ticked": ticked}


@register.simple_tag
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


PARIS = ZoneInfo("Europe/Paris")


@register.filter
def newsroom_and_paris(value):
    """A moment as editors read it: in the newsroom's zone and in Paris
    (« 06/12/2026 14:00 (Almaty) · 06/12/2026 10:00 (Paris) »)."""
    if not value:
        return "—"
    zone = settings.TIME_ZONE.rsplit("/", 1)[-1]
    local = timezone.localtime(value)
    paris = value.astimezone(PARIS)
    return f"{local:%d/%m/%Y %H:%M} ({zone}) · {paris:%d/%m/%Y %H:%M} (Paris)"
