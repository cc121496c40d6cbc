"""Site-wide views: error pages."""

from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.csrf import requires_csrf_token


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
        "Disallow: /newsletter/confirmation/",
        "Disallow: /newsletter/desinscription/",
        "",
        f"Sitemap: {settings.SITE_URL}/sitemap.xml",
        f"Sitemap: {settings.SITE_URL}/sitemap-news.xml",
        "",
    ]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")
