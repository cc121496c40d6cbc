"""Feeds and sitemaps stay valid, and plain text stays text, whatever is stored
(including rows written around the models with a raw UPDATE)."""

import html
from datetime import timedelta
from xml.etree import ElementTree

import feedparser
import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from articles.models import Article
from tests.factories import make_article, make_section

pytestmark = pytest.mark.django_db

PAYLOAD = '<img src=x onerror="alert(1)"><b>gras</b>'


def _rss_descriptions(content):
    root = ElementTree.fromstring(content)
    return [item.findtext("description") for item in root.iter("item")]


def test_the_standfirst_is_text_in_rss_never_markup(client):
    """RSS readers show <description> as HTML: the plain-text standfirst goes out
    escaped, so a reader shows the characters instead of running them."""
    make_article(standfirst=f"Avant {PAYLOAD} après & fin")
    response = client.get(reverse("articles:feed"))
    (description,) = _rss_descriptions(response.content)
    # What an RSS reader inserts as HTML: the escaped text, no element.
    assert "<img" not in description and "<b>" not in description
    assert html.unescape(description) == f"Avant {PAYLOAD} après & fin"
    entry = feedparser.parse(response.content).entries[0]
    assert entry.summary.startswith("Avant &lt;img")


def _write_around_the_model(article, **fields):
    # As an import script or a manual fix in psql would.
    sets = ", ".join(f"{name} = %s" for name in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE articles_article SET {sets} WHERE id = %s",  # noqa: S608
            [*fields.values(), article.pk],
        )


@pytest.mark.parametrize("character", ["\x0b", "\x1f", "\x01", "\ufffe"])
def test_control_characters_written_around_the_model_do_not_break_feeds(client, character):
    """A title and standfirst holding a control character (Word's vertical tab)
    used to answer 500 on every feed; now the feeds answer and parse."""
    section = make_section(slug="economie")
    good = make_article(section=section, title="Un article sain")
    bad = make_article(section=section)
    _write_around_the_model(
        bad, title=f"Titre{character}cassé", standfirst=f"Chapô{character}cassé"
    )
    for url in (reverse("articles:feed"), reverse("articles:section-feed", args=["economie"])):
        response = client.get(url)
        assert response.status_code == 200
        feed = feedparser.parse(response.content)
        assert not feed.bozo, feed.bozo_exception
        titles = [entry.title for entry in feed.entries]
        # Word's vertical tab was a line break: it reads as a space.
        expected = "Titre cassé" if character == "\x0b" else "Titrecassé"
        assert good.title in titles and expected in titles


@pytest.mark.parametrize("character", ["\x0b", "\x1f", "\x08"])
def test_control_characters_do_not_break_the_news_sitemap(client, character):
    """The Google News sitemap stays well-formed XML with a bad title in the table."""
    bad = make_article(published_at=timezone.now() - timedelta(hours=1))
    _write_around_the_model(bad, title=f"Titre{character}cassé & <suite>")
    response = client.get("/sitemap-news.xml")
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)
    namespace = {"news": "http://www.google.com/schemas/sitemap-news/0.9"}
    expected = "Titre cassé" if character == "\x0b" else "Titrecassé"
    assert root.find(".//news:title", namespace).text == f"{expected} & <suite>"


def test_a_title_that_looks_like_markup_is_text_in_rss(client):
    """Readers take a title that looks like markup for HTML: it goes out escaped,
    so a reader shows the characters, and runs nothing."""
    make_article(title=f"Titre {PAYLOAD} & fin")
    response = client.get(reverse("articles:feed"))
    root = ElementTree.fromstring(response.content)
    (title,) = [item.findtext("title") for item in root.iter("item")]
    assert "<img" not in title and "<b>" not in title
    assert html.unescape(title) == f"Titre {PAYLOAD} & fin"
    entry = feedparser.parse(response.content).entries[0]
    assert entry.title_detail.type == "text/html"
    assert html.unescape(entry.title) == f"Titre {PAYLOAD} & fin"


def test_text_saved_through_the_model_is_normalised():
    """Control characters never reach the table through the ORM: Word's vertical
    tab becomes a space in a title and a line break in a standfirst."""
    article = make_article(
        title="Bichkek\x0bet Astana\u202e  ", standfirst="Ligne un\x0bLigne deux\x00\x1f"
    )
    stored = Article.objects.values("title", "standfirst").get(pk=article.pk)
    assert stored == {"title": "Bichkek et Astana", "standfirst": "Ligne un\nLigne deux"}
