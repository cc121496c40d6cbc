"""RSS 2.0 feeds: the latest articles, and one per section."""

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Enclosure, Rss201rev2Feed
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _

from newsroom.links import absolute_url

from .models import Article, Section
from .plaintext import clean_values, normalize_line, xml_safe
from .renditions import HeroRenditions

FEED_SIZE = 30


def _xml_safe(value):
    return clean_values(value, xml_safe)


class SafeRssFeed(Rss201rev2Feed):
    """RSS 2.0 that drops the characters XML cannot carry from every value,
    whatever is stored: one bad article never takes the feed down."""

    def __init__(self, *args, **kwargs):
        super().__init__(
            *(_xml_safe(arg) for arg in args),
            **{key: _xml_safe(value) for key, value in kwargs.items()},
        )

    def add_item(self, *args, **kwargs):
        super().add_item(
            *(_xml_safe(arg) for arg in args),
            **{key: _xml_safe(value) for key, value in kwargs.items()},
        )


class LatestArticlesFeed(Feed):
    feed_type = SafeRssFeed
    title = settings.SITE_NAME
    description = _("Les derniers articles sur l’Asie centrale, en français.")
    language = "fr"

    def link(self):
        return f"{settings.SITE_URL}/"

    def feed_url(self):
        return f"{settings.SITE_URL}{reverse('articles:feed')}"

    def articles(self):
        return Article.objects.published()

    def items(self):
        return (
            self.articles()
            .select_related("section")
            .prefetch_related("authors", "tags")[:FEED_SIZE]
        )

    def item_title(self, item):
        # Most readers (and feedparser) take a title that looks like markup for
        # HTML: the plain-text title goes out HTML-escaped like the standfirst,
        # so « <b> » in a title is shown, never run. One line, whatever is stored.
        return escape(normalize_line(item.title))

    def item_description(self, item):
        # RSS readers show <description> as HTML: the plain-text standfirst is
        # escaped, so that what it says is shown, never run.
        return escape(item.standfirst)

    def item_link(self, item):
        return f"{settings.SITE_URL}{item.get_absolute_url()}"

    def item_guid(self, item):
        return f"{settings.SITE_URL}/article/{item.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.updated_at

    def item_author_name(self, item):
        return ", ".join(author.name for author in item.authors.all()) or None

    def item_categories(self, item):
        return [item.section.name, *(tag.name for tag in item.tags.all())]

    def item_enclosures(self, item):
        renditions = HeroRenditions.of(item)
        image = renditions.largest("lead") if renditions else None
        if image is None:
            return []
        return [Enclosure(absolute_url(image.url), str(image.bytes), "image/jpeg")]


class SectionFeed(LatestArticlesFeed):
    def get_object(self, request, slug):
        return get_object_or_404(Section, slug=slug)

    def title(self, section):
        return f"{section.name} — {settings.SITE_NAME}"

    def description(self, section):
        return section.description or section.name

    def link(self, section):
        return f"{settings.SITE_URL}{section.get_absolute_url()}"

    def feed_url(self, section):
        return f"{settings.SITE_URL}{reverse('articles:section-feed', args=[section.slug])}"

    def items(self, section):
        return (
            Article.objects.published()
            .in_section(section)
            .select_related("section")
            .prefetch_related("authors", "tags")[:FEED_SIZE]
        )
