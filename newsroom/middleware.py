"""Site-wide middleware."""

import logging
from urllib.parse import parse_qsl, unquote, urlencode

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpResponse
from django.middleware import http
from django.template.loader import render_to_string
from django.utils.cache import get_conditional_response, patch_cache_control, set_response_etag
from django.utils.http import http_date, parse_http_date_safe

from articles.plaintext import html_safe_bytes

from .frontcache import tag_response

logger = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    """When PostgreSQL cannot be reached, answer 503 with a page that needs no
    database, instead of a traceback."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        if isinstance(exception, DatabaseError) and not _is_connection_failure(exception):
            return None
        logger.error("Database unavailable: %s", exception)
        response = HttpResponse(
            render_to_string("503.html", {"site_name": _site_name()}), status=503
        )
        response["Retry-After"] = "30"
        response["Cache-Control"] = "no-store"
        return response


def _is_connection_failure(exception) -> bool:
    # OperationalError also covers errors such as a cancelled statement; only
    # connection failures mean "the database is unavailable".
    text = str(exception).lower()
    return isinstance(exception, InterfaceError) or any(
        marker in text
        for marker in (
            "could not connect",
            "connection refused",
            "server closed the connection",
            "connection to server",
            "terminating connection",
            "no such file or directory",
            "the database system is",
            "connection already closed",
        )
    )


def _site_name() -> str:
    return settings.SITE_NAME


class RequestLimitsMiddleware:
    """Refuses, before anything reads them, request bodies over the size this
    path accepts (413), and drops NUL characters from query parameters:
    PostgreSQL can neither store nor compare them, so no view, filter or admin
    search ever sees one. Only staff pages take image uploads, so only they
    accept large bodies; everything else a reader posts is a few hundred bytes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = self._body_limit(request.path_info)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            return _render_refusal(request, "413.html", 413, {"limit": limit})
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in unquote(query):
            # Dropped from query parameters: a search or a filter with a NUL in
            # it is the same search without it.
            pairs = parse_qsl(query, keep_blank_values=True)
            request.META["QUERY_STRING"] = urlencode(
                [(key.replace("\x00", ""), value.replace("\x00", "")) for key, value in pairs]
            )
        return self.get_response(request)

    @staticmethod
    def _body_limit(path: str) -> int:
        if path.startswith(tuple(settings.STAFF_PATH_PREFIXES)):
            return settings.STAFF_REQUEST_MAX_BYTES
        if path.startswith(settings.WEBHOOK_PATH_PREFIX):
            return settings.WEBHOOK_REQUEST_MAX_BYTES
        return settings.PUBLIC_REQUEST_MAX_BYTES


class HtmlSafeTextMiddleware:
    """HTML pages carry no control character, whatever a row holds. Plain text
    is normalised when it is saved, but a row written around the models (a raw
    UPDATE, an import) may still hold Word's vertical tab or an escape: HTML
    parsers report those as errors, so they are dropped from every page here,
    in one place (articles.plaintext.html_safe_bytes: about 0.01 ms a page)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            not response.streaming
            and response.get("Content-Type", "").startswith("text/html")
            and response.charset.lower() == "utf-8"
        ):
            response.content = html_safe_bytes(response.content)
        return response


class ConditionalGetMiddleware(http.ConditionalGetMiddleware):
    """Django's ETags and 304s, for HEAD as for GET. Django's leaves HEAD alone,
    as its body may be empty; here it is not: a view renders the whole page for
    HEAD too (the server sends no body), so the ETag is the GET's. A monitor or
    a cache that checks a page with HEAD then sees the validator that a GET
    would give, page cache or not."""

    def process_response(self, request, response):
        if request.method not in ("GET", "HEAD"):
            return response
        if self.needs_etag(response) and not response.has_header("ETag"):
            set_response_etag(response)
        etag = response.get("ETag")
        last_modified = parse_http_date_safe(response.get("Last-Modified", ""))
        if etag or last_modified:
            return get_conditional_response(
                request, etag=etag, last_modified=last_modified, response=response
            )
        return response


class PublicCacheMiddleware:
    """Anonymous GET and HEAD answers of public pages may be kept by browsers and
    shared caches: ``Cache-Control: public`` with short lifetimes, a
    ``Last-Modified`` (ConditionalGetMiddleware adds the strong ETag and answers
    304s), and no ``Vary: Cookie``. Everything else (staff, with a session
    cookie; the admin, previews, confirmation and unsubscribe pages, the health
    page; form errors; POSTs; any answer that sets a cookie) is ``private,
    no-store``.

    "Anonymous" is read from the request's cookies, never from the session: the
    session is not even loaded. A page built without a session cookie is the
    anonymous page, so no ``Vary: Cookie`` is needed; a front cache must pass
    requests that carry the session cookie (``deploy/`` and README say so)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path_info.startswith(settings.MEDIA_URL):
            return response
        if self._cacheable(request, response):
            patch_cache_control(
                response,
                public=True,
                max_age=settings.PUBLIC_CACHE_MAX_AGE,
                s_maxage=settings.PUBLIC_CACHE_S_MAXAGE,
                stale_while_revalidate=settings.PUBLIC_CACHE_STALE_WHILE_REVALIDATE,
                stale_if_error=settings.PUBLIC_CACHE_STALE_IF_ERROR,
            )
            tag_response(request, response)
            if not response.has_header("Last-Modified"):
                # When this copy was made: a client's copy older than that is
                # never told it is current.
                response["Last-Modified"] = http_date()
            _drop_vary(response, "Cookie")
        elif "no-store" not in response.get("Cache-Control", ""):
            if response.has_header("Cache-Control"):
                del response["Cache-Control"]
            patch_cache_control(response, private=True, no_store=True)
        return response

    @staticmethod
    def _cacheable(request, response) -> bool:
        return (
            request.method in ("GET", "HEAD")
            and response.status_code in (200, 301, 404, 410)
            and not response.cookies
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
            and not response.has_header("Cache-Control")
            and not request.path_info.startswith(tuple(settings.PRIVATE_PATH_PREFIXES))
        )


def _drop_vary(response, header):
    if not response.has_header("Vary"):
        return
    kept = [
        value.strip()
        for value in response["Vary"].split(",")
        if value.strip() and value.strip().lower() != header.lower()
    ]
    if kept:
        response["Vary"] = ", ".join(kept)
    else:
        del response["Vary"]


def _render_refusal(request, template_name, status, context):
    from django.shortcuts import render

    response = render(request, template_name, context, status=status)
    response["Cache-Control"] = "no-store"
    return response


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the admin's policy on staff pages (the
    admin and CKEditor need inline scripts and styles) and the strict one
    everywhere else.

    No page uses a nonce or a per-view policy, so the two headers are the same
    for every public page and every staff page: they are built once per policy
    (django-csp builds them anew for each response, a fifth of what a page
    served from the page cache costs) and built by django-csp when a view or a
    template asks for something of its own."""

    _VIEW_ATTRIBUTES = tuple(
        f"_csp_{name}{suffix}"
        for name in ("config", "update", "replace", "exempt")
        for suffix in ("", "_ro")
    )

    def __init__(self, get_response):
        super().__init__(get_response)
        self._built = {}

    def process_response(self, request, response):
        nonce_used = isinstance(getattr(request, "_csp_nonce", None), str)
        if nonce_used or any(hasattr(response, name) for name in self._VIEW_ATTRIBUTES):
            return super().process_response(request, response)
        staff_page = request.path_info.startswith(tuple(settings.STAFF_PATH_PREFIXES))
        headers = self._headers(request, staff_page)
        if headers is None:
            return super().process_response(request, response)
        for name, value in headers:
            if name not in response:
                response[name] = value
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response

    def _headers(self, request, staff_page):
        sources = (
            getattr(settings, "CONTENT_SECURITY_POLICY", None),
            getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None),
            settings.ADMIN_CONTENT_SECURITY_POLICY,
            settings.DEBUG,
        )
        built = self._built.get(staff_page)
        # The same setting objects (tests override them): the same headers.
        if built is None or any(a is not b for a, b in zip(built[0], sources, strict=True)):
            if settings.DEBUG or any(
                (policy or {}).get("EXCLUDE_URL_PREFIXES") for policy in sources[:2]
            ):
                return None  # django-csp's exceptions apply: no shortcut
            probe = super().process_response(request, HttpResponse())
            names = (HEADER, HEADER_REPORT_ONLY)
            headers = [(name, probe[name]) for name in names if name in probe]
            built = self._built[staff_page] = (sources, headers)
        return built[1]

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only=report_only)
        staff_page = request.path_info.startswith(tuple(settings.STAFF_PATH_PREFIXES))
        if not report_only and parts.config is None and staff_page:
            parts.config = settings.ADMIN_CONTENT_SECURITY_POLICY
        return parts
