"""Site-wide views, which belong to no app: the error pages (400, 403, 404,
500 and the CSRF failure page), the checks that posts from public pages share
(the client's address, and the origin check that replaces CSRF cookies), the
two files crawlers and browsers ask every site for (/robots.txt,
/favicon.ico), and the health checks for load balancers and supervisors."""

import secrets
import time
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Min
from django.http import HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import requires_csrf_token
from django.views.decorators.http import require_safe
from django_tasks_db.models import DBTaskResult

from newsroom.models import WorkerHeartbeat


def client_ip(request):
    """The client's address: REMOTE_ADDR, or the address the trusted proxies saw
    (NUMBER_OF_PROXIES) in X-Forwarded-For."""
    proxies = settings.NUMBER_OF_PROXIES
    if proxies:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def posted_from_this_site(request) -> bool:
    """Whether a POST comes from one of this site's pages, as browsers tell it:
    ``Sec-Fetch-Site`` (every current browser), else ``Origin``, else
    ``Referer``, compared with the site's own origin and the trusted ones.

    This replaces the CSRF cookie for the posts public pages make (the signup
    form, the reading beacon), so that those pages can be cached whole (a
    cookie per reader makes that impossible). It is enough there: they act for
    no session or account, so a forged post could only do what anyone can do
    by posting themselves, which each view bounds (the signup's signed stamp,
    bot trap, throttles and double opt-in); and a browser never lets another
    site forge these headers."""
    if getattr(request, "_dont_enforce_csrf_checks", False):  # Django's test client
        return True
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site:
        return fetch_site == "same-origin"
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source or source == "null":
        return False
    try:
        parts = urlsplit(source)
    except ValueError:  # « http://[::1 » and the like: no origin at all
        return False
    origin = f"{parts.scheme}://{parts.netloc}"
    own = f"{request.scheme}://{request.get_host()}"
    return origin == own or origin in settings.CSRF_TRUSTED_ORIGINS


def bad_request(request, exception):
    return render(request, "400.html", status=400)


def permission_denied(request, exception):
    return render(request, "403.html", status=403)


def page_not_found(request, exception):
    return render(request, "404.html", status=404)


@requires_csrf_token
def server_error(request):
    # Rendered with a minimal context: the database may be the cause of the error.
    return HttpResponseServerError(render_to_string("500.html", {"site_name": settings.SITE_NAME}))


def csrf_failure(request, reason=""):
    return render(request, "403_csrf.html", status=403)


def favicon(request):
    """Browsers still ask for /favicon.ico; the icon is the static SVG."""
    return redirect(static("images/favicon.svg"), permanent=True)


def robots_txt(request):
    """Keeps crawlers out of the admin, previews, search, health checks and
    subscribers' links; names the sitemaps."""
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /apercu/",
        "Disallow: /recherche/",
        "Disallow: /sante/",
        "Disallow: /newsletter/confirmation/",
        "Disallow: /newsletter/desinscription/",
        "",
        f"Sitemap: {settings.SITE_URL}/sitemap.xml",
        f"Sitemap: {settings.SITE_URL}/sitemap-news.xml",
        "",
    ]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")


def _timed(check) -> dict:
    """``check()``'s outcome: ok, milliseconds, and the error's class name only
    (no host, no message: the page is public)."""
    started = time.perf_counter()
    try:
        check()
    except Exception as error:  # any failure means "not ready"
        return {"ok": False, "ms": None, "error": type(error).__name__}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1), "error": None}


def _check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache():
    key, value = "health:probe", secrets.token_hex(8)
    cache.set(key, value, 30)
    if cache.get(key) != value:
        raise RuntimeError("cache did not keep a value")


def _seconds_since(moment, now):
    return round((now - moment).total_seconds(), 1) if moment else None


def _worker_and_tasks():
    now = timezone.now()
    last = WorkerHeartbeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()
    waiting = DBTaskResult.objects.ready().aggregate(count=Count("pk"), oldest=Min("enqueued_at"))
    alive_after = now - timedelta(seconds=3 * settings.WORKER_HEARTBEAT_SECONDS)
    return {
        "worker": {
            "ok": last is not None and last >= alive_after,
            "last_heartbeat_seconds": _seconds_since(last, now),
        },
        "tasks": {
            "pending": waiting["count"],
            "oldest_pending_seconds": _seconds_since(waiting["oldest"], now),
        },
    }


@never_cache
@require_safe
def health(request):
    """Readiness, for load balancers and monitors: 200 when the database and the
    cache answer ("degraded" if no worker beat lately: pages still work, mail
    waits), 503 otherwise. JSON, never cached, nothing secret."""
    body = {"database": _timed(_check_database), "cache": _timed(_check_cache)}
    if body["database"]["ok"]:
        try:
            body.update(_worker_and_tasks())
        except Exception as error:
            body["worker"] = {"ok": False, "error": type(error).__name__}
    ready = body["database"]["ok"] and body["cache"]["ok"]
    worker_ok = body.get("worker", {}).get("ok", False)
    body = {"status": "ok" if ready and worker_ok else "degraded" if ready else "down", **body}
    return JsonResponse(body, status=200 if ready else 503)


@never_cache
@require_safe
def liveness(request):
    """The process answers (no database, no cache): for a supervisor's restarts."""
    return JsonResponse({"status": "ok"})
