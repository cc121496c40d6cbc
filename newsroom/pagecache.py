"""Whole anonymous pages, kept in Django's cache and served before any view,
session or template runs; never a page older than the content it shows.

Exactness. PostgreSQL keeps a content clock (migration newsroom 0002): every
statement that changes a table public pages show advances it, in the writer's
own transaction. A request reads the clock first (one query, which also gives
the next scheduled publication), then looks for a page stored under that
value. A page rendered from data older than a commit was stored under an
older value, which no request reads once the commit is visible: staleness is
zero, whatever wrote (the admin, an action, a restore, ``update()``, a
management command, raw SQL, another machine) and for every process, on one
machine or many, with Redis or with each process's own memory.

Scheduled articles. A page is kept at most until the next scheduled
publication: the first request after that moment renders it again, with the
article (no cron, no worker). Lifetimes sent to browsers and shared caches
are cut the same way.

Bounds. Only the query parameters a public page reads are kept (``?utm_…`` and
unknown ones are dropped before the view runs, so a flood of distinct URLs is
one page); pages are stored gzipped, and those whose copy is over
PAGE_CACHE_MAX_BYTES are not kept; every entry expires; the memory cache holds
at most PAGE_CACHE_MAX_ENTRIES pages (Redis: set ``maxmemory`` with an LRU
policy).

Lookups and derived data (the menu, spelling variants, the consent text) are
kept under the same clock with ``clock_cached``: no invalidation to forget."""

import contextvars
import gzip
import hashlib
import math
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import DisallowedHost
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpResponse, QueryDict
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import parse_http_date_safe

from newsroom import prepared

# The parameters public pages read: the page number, the search, the signup
# form's origin, the sitemap's page.
KEPT_PARAMETERS = ("page", "q", "source", "p")
CONDITIONAL_HEADERS = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE")
NOT_STORED_HEADERS = {"x-request-id", "set-cookie", "x-page-cache"}
STORED_STATUSES = (200, 301, 404, 410)
# Pages are kept gzipped (a fifth of their size) and sent so to the clients
# that take gzip, as browsers, CDNs and Varnish do; unpacked for the others.
COMPRESSED_TYPES = ("text/", "application/xml", "application/rss+xml", "application/atom+xml")

# The clock, and the next scheduled publication (ArticleQuerySet.scheduled(),
# in SQL: this runs on every request the cache may serve).
CLOCK_SQL = """
    SELECT value, (
        SELECT min(published_at) FROM articles_article
        WHERE status = %s AND published_at > statement_timestamp()
    )
    FROM newsroom_contentclock WHERE id = 1
"""


@dataclass(frozen=True)
class Clock:
    value: int
    next_publication: datetime | None

    def valid_until(self, seconds):
        """When a page made now stops being valid: after ``seconds``, or at the
        next scheduled publication, whichever comes first (a Unix time)."""
        until = time.time() + seconds
        if self.next_publication is not None:
            until = min(until, self.next_publication.timestamp())
        return until


class _RequestClock:
    """The clock one request reads, at most once, and when the page it renders
    stops being valid by itself (limit_page_lifetime)."""

    reading = None
    until = math.inf


_request_clock = contextvars.ContextVar("content_clock", default=None)


def read_clock() -> Clock:
    try:
        return _query_clock()
    except (OperationalError, InterfaceError):
        # A kept connection the server has dropped (a restart, a failover):
        # once more on a new one, as Django's health check would have done.
        if connection.in_atomic_block:
            raise
        connection.close()
        return _query_clock()


def _query_clock() -> Clock:
    from articles.models import Article  # articles.models imports this module

    with connection.cursor() as cursor:
        prepared.execute(connection, cursor, CLOCK_SQL, [Article.Status.PUBLISHED])
        value, next_publication = cursor.fetchone()
    return Clock(value, next_publication)


def content_clock() -> Clock:
    """The clock this request read (once, first thing for a page the cache may
    serve), or a fresh reading outside requests."""
    holder = _request_clock.get()
    if holder is None:
        return read_clock()
    if holder.reading is None:
        holder.reading = read_clock()
    return holder.reading


def limit_page_lifetime(until: float) -> None:
    """The page being rendered shows something that changes at ``until`` (a
    Unix time) with no write to the content (« Les plus lus » refreshed on its
    schedule): the page cache keeps it, and lets browsers and shared caches
    keep it, no longer."""
    holder = _request_clock.get()
    if holder is not None:
        holder.until = min(holder.until, until)


_kept: dict[str, tuple] = {}


def clock_cached(name: str, compute, seconds: int, variant=None):
    """What ``compute()`` returns, kept in this process while content is
    unchanged (the clock's value), ``variant`` is the same, and ``seconds`` at
    most, cut at the next scheduled publication: data derived from content that
    pages read at every rendering (the menu, « Les plus lus », the newsletters
    of the form…). Exact like the page cache, with no invalidation to forget.
    Nothing is pickled or sent to Redis: a rendering reads several of these,
    and each process asks the database once per change. The value is shared:
    callers must not change it."""
    clock = content_clock()
    entry = _kept.get(name)
    if entry is not None and entry[0] == (clock.value, variant) and time.time() < entry[1]:
        return entry[2]
    value = compute()
    _kept[name] = ((clock.value, variant), clock.valid_until(seconds), value)
    return value


# Values kept under the clock for one of many keys (a listing's size for each
# section, tag and author): the least recently used go first past the bound.
_kept_by_key: dict[str, dict] = {}


def clock_cached_for(name: str, key, compute, seconds: int, most: int = 1024):
    """clock_cached for one ``key`` among many: ``compute()`` for that key,
    kept in this process while content is unchanged, for the ``most`` keys
    last asked (their values are small: this bounds what a crawler walking
    every tag and author can make a process keep)."""
    clock = content_clock()
    kept = _kept_by_key.setdefault(name, {})
    entry = kept.pop(key, None)  # put back last: the dict keeps the order of use
    if entry is None or entry[0] != clock.value or time.time() >= entry[1]:
        entry = (clock.value, clock.valid_until(seconds), compute())
        while len(kept) >= most:
            try:
                del kept[next(iter(kept))]  # the least recently asked
            except (KeyError, RuntimeError, StopIteration):
                break  # another thread made room
    kept[key] = entry
    return entry[2]


def forget_clock_cached() -> None:
    """Empties what clock_cached keeps (tests change settings between pages)."""
    _kept.clear()
    _kept_by_key.clear()


def page_cache():
    return caches[settings.PAGE_CACHE_ALIAS]


def normalised_query(query_string: str) -> str:
    pairs = parse_qsl(query_string, keep_blank_values=True)
    return urlencode(sorted((k, v) for k, v in pairs if k in KEPT_PARAMETERS))


def accepts_gzip(request) -> bool:
    """Whether the client's Accept-Encoding takes gzip (and not with q=0)."""
    for part in request.META.get("HTTP_ACCEPT_ENCODING", "").split(","):
        coding, _, parameters = part.partition(";")
        if coding.strip().lower() in ("gzip", "x-gzip"):
            name, _, value = parameters.strip().partition("=")
            if name.strip().lower() != "q":
                return True
            try:
                return float(value) > 0
            except ValueError:
                return False
    return False


def page_key(request, query: str) -> str:
    identity = f"{request.scheme}|{request.get_host()}|{request.path}|{query}"
    # "page2": entries are gzipped since version 2; a shared Redis may still
    # hold the older ones while machines are upgraded one by one.
    return "page2:" + hashlib.sha256(identity.encode()).hexdigest()


class PageCacheMiddleware:
    """Serves anonymous GET and HEAD requests of public pages from the page
    cache, and stores what the rest of the stack answers to them. Placed after
    the middleware that must run for every request (request id, limits,
    security headers, CSP, static files); everything after it is skipped on a
    hit. ``X-Page-Cache`` says ``hit`` or ``miss``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request_clock.set(_RequestClock())
        try:
            if not self._may_serve(request):
                return self.get_response(request)
            if connection.connection is not None:
                # The clock query is the health check of a kept connection
                # (read_clock tries again on a new one): no « SELECT 1 » first,
                # a round trip that would cost a hit a fifth of its time.
                connection.health_check_done = True
            try:
                clock = content_clock()
            except DatabaseError:
                # The stack below answers (a 503 page when PostgreSQL is away).
                return self.get_response(request)
            return self._serve(request, clock)
        finally:
            _request_clock.reset(token)

    @staticmethod
    def _may_serve(request) -> bool:
        try:
            request.get_host()
        except DisallowedHost:
            return False  # the view's answer (400) is not for keeping
        return (
            settings.PAGE_CACHE_ENABLED
            and request.method in ("GET", "HEAD")
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
            and "HTTP_AUTHORIZATION" not in request.META
            and not request.path_info.startswith(tuple(settings.PRIVATE_PATH_PREFIXES))
            and not request.path_info.startswith((settings.STATIC_URL, settings.MEDIA_URL))
        )

    def _serve(self, request, clock):
        query = normalised_query(request.META.get("QUERY_STRING", ""))
        key = page_key(request, query)
        cache = page_cache()
        entry = cache.get(key)
        if entry and entry["clock"] == clock.value and time.time() < entry["until"]:
            return self._answer(request, entry, "hit")
        # The view sees only the kept parameters: what it answers is the page
        # for every URL that differs by the others. It renders the whole page
        # (no 304 inside), which is what is stored.
        request.META["QUERY_STRING"] = query
        request.GET = QueryDict(query)
        conditions = {
            name: request.META.pop(name) for name in CONDITIONAL_HEADERS if name in request.META
        }
        response = self.get_response(request)
        request.META.update(conditions)
        # A HEAD's page is rendered whole, as a GET's (the server sends no
        # body): it is stored the same way, and answered with the same headers.
        if not self._storable(response):
            response["X-Page-Cache"] = "miss"
            return response
        until = min(clock.valid_until(settings.PAGE_CACHE_SECONDS), _request_clock.get().until)
        compressed = self._compressible(response)
        content = gzip.compress(response.content, mtime=0) if compressed else response.content
        if len(content) > settings.PAGE_CACHE_MAX_BYTES:
            response["X-Page-Cache"] = "miss"
            return response
        entry = {
            "clock": clock.value,
            "until": until,
            "status": response.status_code,
            "headers": [
                (k, v) for k, v in response.items() if k.lower() not in NOT_STORED_HEADERS
            ],
            "content": content,
            "gzip": compressed,
        }
        cache.set(key, entry, timeout=max(1, math.ceil(until - time.time())))
        return self._answer(request, entry, "miss")

    @staticmethod
    def _storable(response) -> bool:
        vary = {v.strip().lower() for v in response.get("Vary", "").split(",") if v.strip()}
        return (
            response.status_code in STORED_STATUSES
            and not response.streaming
            and not response.cookies
            and "public" in response.get("Cache-Control", "")
            and vary <= {"accept-encoding"}
        )

    @staticmethod
    def _compressible(response) -> bool:
        return (
            not response.has_header("Content-Encoding")
            and response.get("Content-Type", "").startswith(COMPRESSED_TYPES)
            and len(response.content) > 0
        )

    @staticmethod
    def _answer(request, entry, outcome):
        content, gzipped = entry["content"], False
        if entry["gzip"]:
            gzipped = accepts_gzip(request)
            if not gzipped:
                content = gzip.decompress(content)
        body = b"" if request.method == "HEAD" else content
        response = HttpResponse(body, status=entry["status"])
        for name, value in entry["headers"]:
            response[name] = value
        if entry["gzip"]:
            patch_vary_headers(response, ["Accept-Encoding"])
        if gzipped:
            response["Content-Encoding"] = "gzip"
            etag = response.get("ETag", "")
            if etag.endswith('"'):
                # Another representation, another strong validator.
                response["ETag"] = etag[:-1] + '-gzip"'
        response["Content-Length"] = str(len(content))
        response["X-Page-Cache"] = outcome
        remaining = math.floor(entry["until"] - time.time())
        if remaining < settings.PUBLIC_CACHE_S_MAXAGE:
            # A scheduled publication comes first: no copy may outlive it.
            patch_cache_control(
                response,
                max_age=min(settings.PUBLIC_CACHE_MAX_AGE, max(0, remaining)),
                s_maxage=max(0, remaining),
                stale_while_revalidate=0,
            )
        if response.status_code == 200:
            last_modified = parse_http_date_safe(response.get("Last-Modified", ""))
            conditional = get_conditional_response(
                request,
                etag=response.get("ETag"),
                last_modified=last_modified,
                response=response,
            )
            if conditional is not response:
                conditional["X-Page-Cache"] = outcome
                return conditional
        return response
