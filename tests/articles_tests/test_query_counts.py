"""Every public page makes a fixed number of SQL queries, whatever the number of
articles, authors, tags or sections. Counts are taken when the page is rendered
(the full-page cache is off here: a page it serves costs one query, see
test_page_cache), with what is kept under the content clock (menu, spelling variants) warm, as in
steady operation; a cold menu adds one. Pages with the menu count the content
clock its cache is keyed by (one query per request, newsroom.pagecache)."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django.asserts import assertNumQueries

from articles.models import Article, SpellingVariantGroup
from newsroom.pagecache import forget_clock_cached
from tests.factories import image_upload, make_article, make_author, make_section, make_tag

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _render_every_time(settings):
    settings.PAGE_CACHE_ENABLED = False


def assert_queries(client, url, expected):
    """Rendering the page at ``url`` with warm caches makes ``expected`` queries."""
    client.get(url)  # warms the caches (pages write nothing: the clock stays)
    with assertNumQueries(expected):
        response = client.get(url)
    assert response.status_code == 200, url


def grow(world, count):
    """Add ``count`` articles with several authors and tags each."""
    for index in range(count):
        section = world["sections"][index % len(world["sections"])]
        article = make_article(
            section=section,
            authors=[world["author"], make_author()],
            hero_image=image_upload() if index % 3 == 0 else "",
            title=f"Kirghizistan et commerce {index}",
        )
        article.tags.set([world["tag"], make_tag(f"theme{world['n']}")])
        world["n"] += 1


@pytest.fixture
def world():
    sections = [make_section(name=f"S{i}") for i in range(3)]
    data = {"sections": sections, "author": make_author(), "tag": make_tag("Kazakhstan"), "n": 0}
    SpellingVariantGroup.objects.create(spellings="Kirghizistan, Kyrgyzstan")
    grow(data, 3)
    return data


PAGES = {
    # page: (url builder, queries)
    "home": (lambda w: "/", 2),  # clock; the latest, the lead and the blocks (home_cards)
    # + the section, then its page (its count is kept under the clock: below)
    "section": (lambda w: w["sections"][0].get_absolute_url(), 3),
    "section page 2": (lambda w: w["sections"][0].get_absolute_url() + "?page=2", 3),
    "author": (lambda w: w["author"].get_absolute_url(), 3),
    "tag": (lambda w: w["tag"].get_absolute_url(), 3),
    "article": (lambda w: w["article"].get_absolute_url(), 5),  # + article, authors, tags,
    # related (corrections and translators are looked up only when there are some: below)
    "search": (lambda w: "/recherche/?q=kyrgyzstan+commerce", 2),  # + the ranked page
    "feed": (lambda w: "/feed/", 3),  # articles, authors, tags
    "section feed": (lambda w: w["sections"][0].get_absolute_url() + "flux/", 4),
    "sitemap": (lambda w: "/sitemap.xml", 8),  # count and page for each of 4 sitemaps
    "news sitemap": (lambda w: "/sitemap-news.xml", 1),
}


@pytest.mark.parametrize("page", PAGES)
def test_query_count_is_constant(client, settings, world, page):
    """The page's query count is pinned and does not grow with the content."""
    settings.ARTICLES_PER_PAGE = 2
    url_for, expected = PAGES[page]
    world["article"] = make_article(section=world["sections"][0], authors=[world["author"]])
    world["article"].tags.set([world["tag"]])
    assert_queries(client, url_for(world), expected)
    grow(world, 15)
    world["article"].authors.add(*[make_author() for _ in range(5)])
    assert_queries(client, url_for(world), expected)


def test_the_lead_is_the_newest_featured_article_and_shows_once(client, world):
    """The lead is the newest « à la une » article, however old, else the
    newest article; it is not repeated among the latest. The home page makes
    the same two queries either way."""
    grow(world, 12)
    oldest = Article.objects.order_by("published_at").first().published_at
    make_article(
        title="Vedette ancienne", is_featured=True, published_at=oldest - timedelta(days=1)
    )
    assert_queries(client, "/", 2)
    content = client.get("/").content.decode()
    block = content[content.index("À la une") : content.index("Les derniers articles")]
    assert "Vedette ancienne" in block
    now = timezone.now()
    lead = make_article(
        title="Vedette du jour", is_featured=True, published_at=now - timedelta(minutes=2)
    )
    make_article(title="Plus récent encore", published_at=now - timedelta(minutes=1))
    assert_queries(client, "/", 2)
    content = client.get("/").content.decode()
    block = content[content.index("À la une") : content.index("Les derniers articles")]
    assert lead.title in block and "Plus récent encore" not in block
    assert "Vedette ancienne" not in content[: content.index('class="home-section"')]
    latest = content[
        content.index("Les derniers articles") : content.index('class="home-section"')
    ]
    assert "Vedette du jour" not in latest and "Plus récent encore" in latest
    Article.objects.update(is_featured=False)
    content = client.get("/").content.decode()
    block = content[content.index("À la une") : content.index("Les derniers articles")]
    assert "Plus récent encore" in block


def test_the_stemmer_is_asked_once_per_set_of_words(client, world):
    """The lexemes to highlight are asked of PostgreSQL the first time a set of
    words is searched; the worker remembers them for the next searches."""
    make_article(title="Énergie", body="<p>Le pétrole de la Caspienne.</p>")
    client.get("/recherche/", {"q": "commerce"})  # the clock and the variants, warm
    with CaptureQueriesContext(connection) as first:
        response = client.get("/recherche/", {"q": "pétrole caspienne"})
    with CaptureQueriesContext(connection) as second:
        again = client.get("/recherche/", {"q": "Caspienne PÉTROLE"})
    stemmer = [q for q in first.captured_queries if "to_tsvector" in q["sql"]]
    assert len(stemmer) == 1 and len(second.captured_queries) == len(first.captured_queries) - 1
    assert "<mark>pétrole</mark>" in response.content.decode()
    assert "<mark>pétrole</mark>" in again.content.decode()


def test_cold_caches_cost_the_menu_and_the_most_read_list(client, world):
    """The section menu and « Les plus lus » are cached; only the first page after
    a change (or, for the list, after its refresh time) looks them up."""
    from articles.models import Article, ReadCount

    ReadCount.objects.record(Article.objects.published().first().pk)
    warm = PAGES["home"][1]
    assert_queries(client, "/", warm)
    forget_clock_cached()
    with assertNumQueries(warm + 3):  # the menu; the most-read totals, then cards
        client.get("/")


@pytest.mark.parametrize("kind", ["section", "author", "tag"])
def test_a_listing_counts_again_after_any_change_and_only_then(client, world, kind):
    """The section, author and tag pages keep their listing's size under the
    content clock: the next page of the same listing does not count again, a
    new article counts again at once (the pagination shows it), and each
    listing has its own count."""
    settings_per_page = 2
    owner = world["sections"][0] if kind == "section" else world[kind]
    url = owner.get_absolute_url()

    def pages_shown():
        content = client.get(url).content.decode()
        return int(re.search(r"Page 1 sur ([0-9]+)", content)[1])

    with override_settings(ARTICLES_PER_PAGE=settings_per_page):
        grow(world, 9)  # three sections: the first has three of them, and the author all
        before = pages_shown()
        with CaptureQueriesContext(connection) as other_page:
            assert client.get(url, {"page": 2}).status_code == 200
        assert not [q for q in other_page.captured_queries if "count(" in q["sql"].lower()]
        for _ in range(2 * settings_per_page):
            article = make_article(section=world["sections"][0], authors=[world["author"]])
            article.tags.set([world["tag"]])
        assert pages_shown() == before + 2
        other_tag = make_tag("Ouzbékistan")
        assert client.get(other_tag.get_absolute_url()).status_code == 200
        assert pages_shown() == before + 2


def test_renamed_section_shows_at_once_in_the_menu(client, world):
    """Changing a section clears the cached menu."""
    section = world["sections"][0]
    client.get("/")
    section.name = "Culture et société"
    section.save()
    assert "Culture et société" in client.get("/").content.decode()


def test_an_article_with_corrections_costs_one_more_query(client, world):
    """With corrections, the article page reads them too: 6 queries, however many."""
    from articles.models import Correction

    article = make_article(authors=[world["author"]])
    Correction.objects.create(article=article, text="Première.")
    assert_queries(client, article.get_absolute_url(), 6)
    for index in range(5):
        Correction.objects.create(article=article, text=f"Correction {index}.")
    assert_queries(client, article.get_absolute_url(), 6)
    assert "Correction 4." in client.get(article.get_absolute_url()).content.decode()


def test_deleting_the_last_correction_hides_the_block(client):
    """The count kept on the article follows deletions too."""
    from articles.models import Correction

    article = make_article()
    correction = Correction.objects.create(article=article, text="Erreur de chiffre.")
    assert "Erreur de chiffre." in client.get(article.get_absolute_url()).content.decode()
    correction.delete()
    assert 'id="corrections-title"' not in client.get(article.get_absolute_url()).content.decode()


def test_a_translated_article_costs_one_more_query(client, world):
    """A translation reads its translators once, for the credit and the JSON-LD:
    6 queries, however many translators; other articles make no query for them."""
    article = make_article(authors=[world["author"]], original_language="ru")
    article.translators.set([make_author()])
    assert_queries(client, article.get_absolute_url(), 6)
    article.translators.add(*[make_author() for _ in range(4)])
    assert_queries(client, article.get_absolute_url(), 6)
    assert "Traduit du russe par" in client.get(article.get_absolute_url()).content.decode()
