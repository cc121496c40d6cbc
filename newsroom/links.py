"""Addresses: of the site's objects, and absolute ones for links that leave
the site (emails, feeds, JSON-LD)."""

from functools import lru_cache

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.templatetags.static import static
from django.urls import reverse

from .rendering import prefix_and_urlconf


def path_of(viewname: str, *args) -> str:
    """``reverse(viewname, args=args)``, remembered: a listing asks for the same
    few addresses of articles, sections, authors and tags dozens of times, and
    reverse() is a fifth of what rendering a card costs."""
    prefix, urlconf = prefix_and_urlconf()
    return _reversed(prefix, urlconf, viewname, args)


@lru_cache(maxsize=8192)
def _reversed(prefix, urlconf, viewname, args):
    # The script prefix and the URLconf are part of the key: reverse() reads both.
    return reverse(viewname, urlconf=urlconf, args=args)


def absolute_url(url: str) -> str:
    """``url`` on this site (a path) made absolute with SITE_URL; an address
    that is absolute already (media in a bucket) is returned as it is."""
    return url if "://" in url else f"{settings.SITE_URL}{url}"


@lru_cache(maxsize=512)
def static_url(path):
    """static(), remembered: the hashed name of a collected file is looked up in
    the manifest, a few tens of microseconds, several times a page."""
    return static(path)


@receiver(setting_changed)
def _forget_static(setting, **kwargs):
    if setting in ("STATIC_URL", "STORAGES", "STATIC_ROOT"):
        static_url.cache_clear()
