"""Absolute addresses for links that leave the site (emails, feeds, JSON-LD)."""

from django.conf import settings


def absolute_url(url: str) -> str:
    """``url`` on this site (a path) made absolute with SITE_URL; an address
    that is absolute already (media in a bucket) is returned as it is."""
    return url if "://" in url else f"{settings.SITE_URL}{url}"
