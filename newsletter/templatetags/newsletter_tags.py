from django import template
from django.core.cache import cache
from django.db import DatabaseError
from django.utils.html import format_html
from django.utils.translation import gettext as _

from newsletter.forms import form_stamp
from newsletter.models import CONSENT_TEXT_CACHE_KEY, ConsentText

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
    text = cache.get(CONSENT_TEXT_CACHE_KEY)
    if text is None:
        try:
            current = ConsentText.objects.current()
        except DatabaseError:
            return ""
        text = current.text if current else ""
        cache.set(CONSENT_TEXT_CACHE_KEY, text, 300)
    return text
