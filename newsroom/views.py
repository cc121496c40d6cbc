"""Site-wide views: error pages, robots.txt, health."""

from django.db.models import Count
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import requires_csrf_token
from django.views.decorators.http import require_safe


def bad_request(request, exception):
    return render(request, "400.html", status=400)


def permission_denied(request, exception):
    return render(request, "403.html", status=403)


def page_not_found(request, exception):
    return render(request, "404.html", status=404)


@requires_csrf_token
def server_error(request):
    # Rendered with a minimal context: the database may be the cause of the error.
    from django.conf import settings
    from django.http import HttpResponseServerError
    from django.template.loader import render_to_string

    return HttpResponseServerError(render_to_string("500.html", {"site_name": settings.SITE_NAME}))


def csrf_failure(request, reason=""):
    return render(request, "403_csrf.html", status=403)


def favicon(request):
    return redirect(static("images/favicon.svg"), permanent=True)


def robots_txt(request):
    from django.conf import settings
    from django.http import HttpResponse

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


def _timed(check):
    """(ok, milliseconds, error class) of ``check()``; errors are named, never
    detailed (no host, no message: the page is public)."""
    import time

    started = time.perf_counter()
    try:
        check()
    except Exception as error:  # any failure means "not ready"
        return False, None, type(error).__name__
    return True, round((time.perf_counter() - started) * 1000, 1), None


def _check_database():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache():
    import secrets

    from django.core.cache import cache

    key, value = "health:probe", secrets.token_hex(8)
    cache.set(key, value, 30)
    if cache.get(key) != value:
        raise RuntimeError("cache did not keep a value")


def _worker_and_tasks():
    from datetime import timedelta

    from django.conf import settings
    from django.db.models import Min
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from newsroom.models import WorkerHeartbeat

    now = timezone.now()
    last = WorkerHeartbeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()
    waiting = DBTaskResult.objects.ready().aggregate(count=Count("pk"), oldest=Min("enqueued_at"))
    alive_after = now - timedelta(seconds=3 * settings.WORKER_HEARTBEAT_SECONDS)
    return {
        "worker": {
            "ok": last is not None and last >= alive_after,
            "last_heartbeat_seconds": round((now - last).total_seconds(), 1) if last else None,
        },
        "tasks": {
            "pending": waiting["count"],
            "oldest_pending_seconds": (
                round((now - waiting["oldest"]).total_seconds(), 1) if waiting["oldest"] else None
            ),
        },
    }


@never_cache
@require_safe
def health(request):
    """Readiness, for load balancers and monitors: 200 when the database and the
    cache answer ("degraded" if no worker beat lately: pages still work, mail
    waits), 503 otherwise. JSON, never cached, nothing secret."""
    from django.http import JsonResponse

    database = _timed(_check_database)
    cache = _timed(_check_cache)
    body = {
        "database": {"ok": database[0], "ms": database[1], "error": database[2]},
        "cache": {"ok": cache[0], "ms": cache[1], "error": cache[2]},
    }
    if database[0]:
        try:
            body.update(_worker_and_tasks())
        except Exception as error:
            body["worker"] = {"ok": False, "error": type(error).__name__}
    ready = database[0] and cache[0]
    worker_ok = body.get("worker", {}).get("ok", False)
    body = {"status": "ok" if ready and worker_ok else "degraded" if ready else "down", **body}
    return JsonResponse(body, status=200 if ready else 503)


@never_cache
@require_safe
def liveness(request):
    """The process answers (no database, no cache): for a supervisor's restarts."""
    from django.http import JsonResponse

    return JsonResponse({"status": "ok"})
