"""Caches in front of the site (Varnish, a CDN): what each page is tagged with,
and the purge sent to them when content changes.

Every public page carries ``Cache-Tag`` (Varnish, Cloudflare: comma-separated)
and ``Surrogate-Key`` (Fastly: space-separated): ``site``, the kind of page
(``home``, ``feeds``, ``sitemaps``, ``search``, ``newsletter``) and the object
it shows (``article:<slug>``, ``section:<slug>``, ``author:<slug>``,
``tag:<slug>``).

When content changes, the worker (``manage.py worker``, see ``watch``) sends
one purge of the tag ``site`` to each front cache: every page shows the menu
and lists of articles, so nearly any change touches most pages, and the
content clock (newsroom.pagecache) says that something changed, whatever
wrote it, not what. The editor's save never waits for it."""

import json
import logging
import threading
import urllib.request

from django.conf import settings

logger = logging.getLogger(__name__)

_OBJECT_PAGES = {
    "article-detail": "article",
    "section-detail": "section",
    "section-feed": "section",
    "author-detail": "author",
    "tag-detail": "tag",
}
_KIND_PAGES = {
    "home": "home",
    "feed": "feeds",
    "section-feed": "feeds",
    "search": "search",
    "django.contrib.sitemaps.views.sitemap": "sitemaps",
    "news-sitemap": "sitemaps",
}


def cache_tags(request) -> list[str]:
    """The tags of the page ``request`` asked for."""
    tags = ["site"]
    match = getattr(request, "resolver_match", None)
    if match is None:
        return tags
    name = match.url_name or ""
    if match.namespace == "newsletter":
        tags.append("newsletter")
    if name in _KIND_PAGES:
        tags.append(_KIND_PAGES[name])
    slug = match.kwargs.get("slug")
    if name in _OBJECT_PAGES and slug:
        tags.append(f"{_OBJECT_PAGES[name]}:{slug}")
    return tags


def tag_response(request, response) -> None:
    tags = cache_tags(request)
    response["Cache-Tag"] = ",".join(tags)
    response["Surrogate-Key"] = " ".join(tags)


def configured() -> bool:
    cloudflare = settings.CLOUDFLARE_API_TOKEN and settings.CLOUDFLARE_ZONE_ID
    return bool(settings.FRONT_CACHE_URLS or cloudflare)


def purge(tags) -> int:
    """Ask every front cache to drop the pages with any of ``tags``. Returns
    how many accepted; failures are logged, never raised (the pages' own
    lifetimes still bound what a cache keeps)."""
    accepted = 0
    for url in settings.FRONT_CACHE_URLS:
        for tag in tags:
            request = urllib.request.Request(url, method="PURGE", headers={"X-Purge-Tag": tag})
            accepted += _send(request, url)
    if settings.CLOUDFLARE_API_TOKEN and settings.CLOUDFLARE_ZONE_ID:
        endpoint = f"{settings.CLOUDFLARE_API_URL}/zones/{settings.CLOUDFLARE_ZONE_ID}/purge_cache"
        request = urllib.request.Request(
            endpoint,
            data=json.dumps({"tags": list(tags)}).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {settings.CLOUDFLARE_API_TOKEN}",
                "Content-Type": "application/json",
            },
        )
        accepted += _send(request, "Cloudflare")
    return accepted


def _send(request, name) -> int:
    try:
        with urllib.request.urlopen(request, timeout=settings.FRONT_CACHE_TIMEOUT) as response:
            return 1 if 200 <= response.status < 300 else 0
    except OSError as error:
        logger.warning("Front cache purge refused by %s: %s", name, error)
        return 0


def watch(stop: threading.Event, interval: float) -> None:
    """Purge ``site`` whenever the content clock moves (and once at start:
    content may have changed while no worker ran), until ``stop`` is set."""
    from django.db import connection

    from newsroom.pagecache import read_clock

    seen = None
    try:
        while not stop.is_set():
            try:
                value = read_clock().value
            except Exception:  # the database may be away for a while
                connection.close()
            else:
                if value != seen:
                    accepted = purge(["site"])
                    logger.info(
                        "Content changed (clock %s): %s front cache(s) purged", value, accepted
                    )
                    seen = value
            stop.wait(interval)
    finally:
        connection.close()
