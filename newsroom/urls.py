from django.conf import settings
from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from django.views.static import serve

from articles.sitemaps import SITEMAPS, NewsSitemap

from . import views

urlpatterns = [
    path("favicon.ico", views.favicon),
    path("robots.txt", views.robots_txt),
    path("sante/", views.health, name="health"),
    path("sante/vivant/", views.liveness, name="liveness"),
    path(
        "sitemap.xml",
        sitemap_views.sitemap,
        {"sitemaps": SITEMAPS},
        name="django.contrib.sitemaps.views.sitemap",
    ),
    path(
        "sitemap-news.xml",
        sitemap_views.sitemap,
        {"sitemaps": {"news": NewsSitemap}, "template_name": "sitemaps/news.xml"},
        name="news-sitemap",
    ),
    path("admin/", admin.site.urls),
    path("newsletter/", include("newsletter.urls")),
    path("", include("articles.urls")),
]

if settings.SERVE_MEDIA:
    prefix = settings.MEDIA_URL.lstrip("/")
    urlpatterns += [
        re_path(rf"^{prefix}(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
    ]

handler400 = "newsroom.views.bad_request"
handler403 = "newsroom.views.permission_denied"
handler404 = "newsroom.views.page_not_found"
handler500 = "newsroom.views.server_error"

admin.site.site_header = _("Rédaction — administration")
admin.site.site_title = _("Rédaction")
admin.site.index_title = _("Tableau de bord")
