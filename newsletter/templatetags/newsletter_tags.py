from django import template
from django.core.cache import cache
from django.db import DatabaseError
from django.utils.html import format_html
from django.utils.translation import gettext as _

from newsletter.forms import form_stamp
from newsletter.models import CONSENT_TEXT_CACHE_KEY, ConsentText
from newsroom.pagecache import versioned_key, versioned_timeout

register = template.Library()


@register.simple_tag
def signup_guards():
    """The signup form's bot traps: a field people never see (bots fill it) and
    the signed time the form was shown (bots post at once)."""
    return format_html(
        '<div class="signup-trap" aria-hidden="true">'
        '<label for="{id}">{label}</label>'
        '<input id="{id}" type="text" name="website" tabindex="-1" autocomplete="off">'
        "</div>"
        '<input type="hidden" name="started" value="{stamp}">',
        id="newsletter-website",
        label=_("Ne pas remplir ce champ"),
        stamp=form_stamp(),
    )


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
