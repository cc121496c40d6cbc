from django import template
from django.core.cache import cache
from django.db import DatabaseError

from newsletter.forms import SubscribeForm, form_stamp
from newsletter.models import CONSENT_TEXT_CACHE_KEY, ConsentText
from newsroom.pagecache import versioned_key, versioned_timeout

register = template.Library()


@register.inclusion_tag("includes/newsletter_form.html", takes_context=True)
def newsletter_form(context, form=None):
    """The signup form, the same markup wherever it is shown: under articles
    (empty, recording the page it was sent from) and on the newsletter page
    (``form``: the view's, with what the reader typed and what is wrong).

    It has no CSRF token: the pages that carry it are cached whole and send no
    cookie; the view checks the browser's Origin/Sec-Fetch-Site instead. Its
    bot traps are a field people never see (bots fill it) and the signed time
    the form was shown (bots post at once), fresh at every rendering."""
    if form is None:
        request = context.get("request")
        form = SubscribeForm(initial={"source": request.path if request is not None else ""})
    return {"form": form, "stamp": form_stamp()}


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
