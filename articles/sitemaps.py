"""Sitemaps for search engines, and the Google News sitemap."""

from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from .models import Article, Author, Section, Tag

NEWS_WINDOW = timedelta(days=2)
NEWS_LIMIT = 1000


class SiteSitemap(Sitemap):
    """Absolute URLs from SITE_URL, whatever host the request came in on."""

    limit = 5000

    @property
    def protocol(self):
        return urlsplit(settings.SITE_URL).scheme or "https"

    def get_domain(self, site=None):
        return urlsplit(settings.SITE_URL).netloc


class SectionSitemap(SiteSitemap):
    changefreq = "hourly"

    def items(self):
        # The one visibility rule (published()), not a copy of it.
        newest = (
            Article.objects.published()
            .filter(section=OuterRef("pk"))
            .order_by("-published_at")
            .values("published_at")[:1]
        )
        return Section.objects.annotate(last_published=Subquery(newest)).order_by(
            "position", "name"
        )

    def lastmod(self, section):
        return section.last_published


class ArticleSitemap(SiteSitemap):
    def items(self):
        return Article.objects.published().only("slug", "updated_at").order_by("-published_at")

    def lastmod(self, article):
        return article.updated_at


class AuthorSitemap(SiteSitemap):
    def items(self):
        return Author.objects.public().order_by("name")


class TagSitemap(SiteSitemap):
    def items(self):
        tagged = Article.objects.published().filter(tags=OuterRef("pk"))
        return Tag.objects.filter(Exists(tagged)).order_by("name")


class NewsSitemap(SiteSitemap):
    """Articles of the last two days, for Google News."""

    limit = NEWS_LIMIT

    def items(self):
        since = timezone.now() - NEWS_WINDOW
        return (
            Article.objects.published()
            .filter(published_at__gte=since)
            .only("slug", "title", "published_at", "updated_at")
            .order_by("-published_at")[:NEWS_LIMIT]
        )

    def lastmod(self, article):
        return article.updated_at


SITEMAPS = {
    "rubriques": SectionSitemap,
    "articles": ArticleSitemap,
    "auteurs": AuthorSitemap,
    "sujets": TagSitemap,
}
