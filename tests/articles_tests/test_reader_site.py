"""The readers' site: home blocks, author and tag pages, article extras, images,
typography, feeds, sitemaps and page metadata."""

import json
import re
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import feedparser
import pytest
from django.conf import settings
from django.core.files.storage import default_storage, storages
from django.templatetags.static import static
from django.urls import set_script_prefix
from django.utils import timezone

from articles.models import Article, Tag
from articles.renditions import CROPS, HeroRenditions
from tests.factories import image_upload, make_article, make_author, make_section, make_tag

pytestmark = pytest.mark.django_db


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


# Home, authors, tags ---------------------------------------------------------------


def test_home_leads_with_the_editors_choice(client):
    """« À la une » shows the latest featured article even when newer ones exist."""
    chosen = make_article(
        title="Choix de la rédaction",
        is_featured=True,
        published_at=timezone.now() - timedelta(days=2),
    )
    newer = make_article(title="Plus récent", published_at=timezone.now() - timedelta(hours=1))
    make_article(title="Vedette en brouillon", is_featured=True, published=False)
    content = page(client, "/")
    lead = content[content.index("À la une") : content.index("Les derniers articles")]
    assert chosen.title in lead and newer.title not in lead
    assert "Vedette en brouillon" not in content


def test_home_has_a_block_per_section(client):
    """Each section gets its block with its own latest articles."""
    economy, culture = make_section(name="Économie"), make_section(name="Culture")
    make_article(section=economy, title="Le som se stabilise")
    make_article(section=culture, title="Festival à Almaty")
    content = page(client, "/")
    economy_block = content[content.index('id="rubrique-' + economy.slug) :]
    economy_block = economy_block[: economy_block.index("</section>")]
    assert "Le som se stabilise" in economy_block and "Festival à Almaty" not in economy_block


def test_author_page_lists_their_published_articles(client):
    """An author's page shows their bio and published articles only."""
    author = make_author(name="Timour Rakhimov", bio="Correspondant à Tachkent.")
    make_article(title="Signé Timour", authors=[author])
    make_article(title="Brouillon de Timour", authors=[author], published=False)
    make_article(title="Signé autrui")
    content = page(client, author.get_absolute_url())
    assert "Timour Rakhimov" in content and "Correspondant à Tachkent." in content
    assert "Signé Timour" in content
    assert "Brouillon de Timour" not in content and "Signé autrui" not in content
    assert client.get("/auteur/inconnu/").status_code == 404


def test_tag_page_lists_tagged_articles_paginated(client, settings):
    """A tag page lists its published articles, a page at a time."""
    settings.ARTICLES_PER_PAGE = 1
    kazakhstan = make_tag("Kazakhstan", kind=Tag.Kind.COUNTRY)
    for title in ("Premier", "Second"):
        make_article(title=f"{title} kazakh").tags.add(kazakhstan)
    make_article(title="Sans mot-clé")
    first = page(client, kazakhstan.get_absolute_url())
    second = page(client, kazakhstan.get_absolute_url() + "?page=2")
    assert "Pays" in first and "Kazakhstan" in first
    assert ("Premier kazakh" in first) != ("Premier kazakh" in second)
    assert "Sans mot-clé" not in first + second
    assert client.get("/sujet/inconnu/").status_code == 404


# Article extras --------------------------------------------------------------------


def test_article_shows_reading_time_tags_and_share_links(client):
    """Reading time, linked tags and plain share links (no third-party script:
    the page's one script is our own reading beacon)."""
    article = make_article(body="<p>" + "mot " * 690 + "</p>", standfirst="Court.")
    article.tags.add(make_tag("Ouzbékistan", kind=Tag.Kind.COUNTRY), make_tag("Énergie"))
    content = page(client, article.get_absolute_url())
    assert "4 min de lecture" in content  # 691 words at 230 a minute
    assert 'href="/sujet/ouzbekistan/"' in content
    assert "Énergie" in content
    assert "https://t.me/share/url?url=" in content
    assert "mailto:?subject=" in content
    assert re.findall(r"<script[^>]+src=\"([^\"]+)\"", content) == ["/static/js/read.js"]


def test_related_articles_prefer_shared_tags_and_stay_public(client):
    """« À lire aussi » ranks articles by shared tags, then section; never drafts or itself."""
    section = make_section()
    kz, kg, water = (
        make_tag("Kazakhstan", kind=Tag.Kind.COUNTRY),
        make_tag("Kirghizistan", kind=Tag.Kind.COUNTRY),
        make_tag("Eau"),
    )
    article = make_article(section=section, title="Article lu")
    article.tags.set([kz, kg, water])
    two = make_article(
        title="Deux sujets communs", published_at=timezone.now() - timedelta(days=9)
    )
    two.tags.set([kz, kg])
    one = make_article(title="Un sujet commun")
    one.tags.set([water])
    make_article(section=section, title="Même rubrique")
    make_article(title="Sans rapport")
    make_article(title="Brouillon lié", published=False).tags.set([kz, kg, water])

    content = page(client, article.get_absolute_url())
    related = content[content.index("À lire aussi") :]
    assert related.index("Deux sujets communs") < related.index("Un sujet commun")
    assert related.index("Un sujet commun") < related.index("Même rubrique")
    assert "Sans rapport" not in related and "Brouillon lié" not in related
    assert "Article lu" not in related


def test_article_json_ld_describes_a_news_article(client):
    """The article page carries NewsArticle JSON-LD with the fields search engines use."""
    author = make_author(name="Claire Dubreuil")
    article = make_article(
        authors=[author],
        hero_image=image_upload(width=1300, height=800),
        hero_image_alt="Une photo",
    )
    content = page(client, article.get_absolute_url())
    raw = re.search(r'<script type="application/ld\+json">(.*?)</script>', content, re.S).group(1)
    data = json.loads(raw)
    url = settings.SITE_URL + article.get_absolute_url()
    assert data["@type"] == "NewsArticle"
    assert data["headline"] == article.title
    assert data["image"][0].startswith(settings.SITE_URL + "/media/renditions/")
    assert data["datePublished"] == article.published_at.isoformat()
    assert data["dateModified"] == article.updated_at.isoformat()
    assert data["author"] == [
        {
            "@type": "Person",
            "name": "Claire Dubreuil",
            "url": settings.SITE_URL + author.get_absolute_url(),
        }
    ]
    assert data["publisher"]["name"] == settings.SITE_NAME
    assert data["publisher"]["logo"]["url"].endswith(".png")
    assert data["mainEntityOfPage"] == {"@type": "WebPage", "@id": url}


# Images ----------------------------------------------------------------------------


def test_hero_image_has_renditions_in_webp_and_jpeg(client):
    """The hero image is offered in several widths, WebP first with a JPEG fallback,
    with width and height: 16:9 on the article, 3:2 on cards; the article's own
    image loads at once, cards lazily."""
    article = make_article(hero_image=image_upload(width=1700, height=1000))
    make_article(hero_image=image_upload(width=900, height=600))
    content = page(client, article.get_absolute_url())
    hero = re.search(r'<figure class="article__hero">.*?</figure>', content, re.S).group(0)
    webp = re.search(r'<source type="image/webp" srcset="([^"]+)"', hero).group(1)
    assert [item.split()[-1] for item in webp.split(", ")] == ["800w", "1200w", "1600w"]
    assert 'width="1600" height="900"' in hero and 'loading="eager"' in hero
    assert 'sizes="' in hero and ".jpg 800w" in hero
    home = page(client, "/")
    card = re.search(r'<article class="card">.*?</article>', home, re.S).group(0)
    assert 'width="800" height="533"' in card and 'loading="lazy"' in card
    assert re.search(r'srcset="[^"]+-card-480\.webp 480w, [^"]+-card-800\.webp 800w"', card)


def test_renditions_are_made_on_save_and_pages_only_read_them(client):
    """Saving the article makes the copies; showing it (page, home, feed) opens no
    image and writes nothing: the files stay as they are and the content clock,
    which every write moves, does not move."""
    from newsroom.pagecache import read_clock

    article = make_article(hero_image=image_upload(width=1000, height=700))
    renditions = HeroRenditions.of(article)
    paths = [
        copy.url.removeprefix(settings.MEDIA_URL)
        for crop in CROPS
        for kind in CROPS[crop].formats
        for copy in renditions.copies(crop, kind)
    ]
    assert len(paths) == 2 * 2 + 2 * 2 + 1  # card 480/800, lead 800/1000, social 1000
    stamps = [default_storage.get_modified_time(path) for path in paths]
    clock = read_clock().value
    for url in (article.get_absolute_url(), "/", "/feed/", article.get_absolute_url()):
        assert client.get(url).status_code == 200
    assert [default_storage.get_modified_time(path) for path in paths] == stamps
    assert read_clock().value == clock


def test_new_hero_image_gets_new_renditions(admin_client):
    """Replacing the hero image in the admin makes copies of the new one at once."""
    from tests.factories import admin_article_data

    article = make_article(hero_image=image_upload(width=600, height=400), hero_image_alt="x")
    data = admin_article_data(
        article, hero_image=image_upload("nouvelle.png", width=500, height=300)
    )
    admin_client.post(f"/admin/articles/article/{article.pk}/change/", data)
    article.refresh_from_db()
    assert article.hero_image_width == 500
    assert article.hero_renditions["key"].startswith(article.hero_image.name + "|")
    assert HeroRenditions.of(article).largest("lead").width == 500


# Typography ---------------------------------------------------------------------------


def test_french_spacing_on_published_text_spares_tags_and_urls(client):
    """Non-breaking spaces go before ; : ! ? » and inside « », in text only."""
    article = make_article(
        title="Bichkek : la capitale s’agrandit !",
        standfirst="Une question se pose : « jusqu’où ? »",
        body='<p>Il est 16:30 ; voir <a href="https://exemple.org/a?b=1:2">la carte ?</a></p>',
    )
    content = page(client, article.get_absolute_url())
    assert "Bichkek\u00a0: la capitale s’agrandit\u202f!" in content
    assert "«\u00a0jusqu’où\u202f?\u00a0»" in content
    assert "16:30\u202f; voir" in content
    assert 'href="https://exemple.org/a?b=1:2"' in content
    assert "la carte\u202f?</a>" in content


def test_french_spacing_is_stored_so_feeds_and_newsletters_show_it(client):
    """Spacing is applied once, when the text is saved: the feed, the home page's
    cards and the newsletter show what pages show."""
    from newsletter.emails import render_issue
    from newsletter.models import IssueArticle
    from tests.factories import make_issue

    article = make_article(title="Douchanbé : le Rogoun ?", standfirst="« Enfin ! »")
    issue = make_issue(articles=0, subject="Semaine : bilan", introduction="Bilan ?")
    IssueArticle.objects.create(issue=issue, article=article, position=1)
    assert article.title == "Douchanbé\u00a0: le Rogoun\u202f?"
    assert article.standfirst == "«\u00a0Enfin\u202f!\u00a0»"
    feed = client.get("/feed/").content.decode()
    assert "<title>Douchanbé\u00a0: le Rogoun\u202f?</title>" in feed
    assert "Douchanbé\u00a0: le Rogoun\u202f?" in page(client, "/")
    rendered = render_issue(issue)
    assert rendered["subject"] == "Semaine\u00a0: bilan"
    for part in ("text", "html"):
        assert "Douchanbé\u00a0: le Rogoun\u202f?" in rendered[part], part
        assert "Bilan\u202f?" in rendered[part], part


# Resources, feeds, sitemaps, metadata ----------------------------------------------------


class Resources(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag_name, attrs):
        attrs = dict(attrs)
        if tag_name in ("img", "script", "source", "iframe", "video", "audio"):
            self.urls += [attrs.get("src")] + [
                part.split()[0] for part in (attrs.get("srcset") or "").split(",") if part.strip()
            ]
        if tag_name == "link" and attrs.get("rel") in ("stylesheet", "icon", "preload"):
            self.urls.append(attrs.get("href"))


@pytest.mark.parametrize("kind", ["home", "section", "article", "search", "newsletter"])
def test_public_pages_load_nothing_from_other_hosts(client, kind):
    """Reader privacy: styles, scripts and images all come from this site."""
    article = make_article(hero_image=image_upload(width=900, height=600))
    url = {
        "home": "/",
        "section": article.section.get_absolute_url(),
        "article": article.get_absolute_url(),
        "search": "/recherche/?q=article",
        "newsletter": "/newsletter/",
    }[kind]
    parser = Resources()
    parser.feed(page(client, url))
    assert parser.urls
    for url in filter(None, parser.urls):
        assert not urlsplit(url).netloc, url


def test_rss_feed_parses_and_carries_what_readers_need(client):
    """/feed/ is valid RSS 2.0 with the latest 30 articles: standfirst, author,
    category, and the hero image as an enclosure."""
    author = make_author(name="Nourlan Osmonov")
    section = make_section(name="Politique")
    for index in range(32):
        make_article(title=f"Dépêche {index}", section=section, authors=[author])
    illustrated = make_article(
        title="Avec image",
        section=section,
        published_at=timezone.now(),
        hero_image=image_upload(width=900, height=600),
    )
    illustrated.tags.add(make_tag("Tadjikistan", kind=Tag.Kind.COUNTRY))
    make_article(title="Brouillon", published=False)
    client.get(illustrated.get_absolute_url())  # renditions exist

    feed = feedparser.parse(client.get("/feed/").content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "rss20"
    assert len(feed.entries) == 30
    entry = next(e for e in feed.entries if e.title == "Avec image")
    assert entry.summary == illustrated.standfirst
    assert {t.term for t in entry.tags} == {"Politique", "Tadjikistan"}
    assert entry.enclosures[0].type == "image/jpeg" and int(entry.enclosures[0].length) > 0
    assert entry.link == settings.SITE_URL + illustrated.get_absolute_url()
    assert "Brouillon" not in {e.title for e in feed.entries}
    assert any(e.get("author") == "Nourlan Osmonov" for e in feed.entries)


def test_section_feed_has_only_its_section(client):
    """A section's feed holds only that section's articles; an unknown section is 404."""
    economy = make_section(name="Économie")
    make_article(section=economy, title="Le tenge recule")
    make_article(title="Hors rubrique")
    feed = feedparser.parse(client.get(economy.get_absolute_url() + "flux/").content)
    assert not feed.bozo
    assert [e.title for e in feed.entries] == ["Le tenge recule"]
    assert client.get("/rubrique/inconnue/flux/").status_code == 404


@pytest.mark.parametrize("url", ["/", "/newsletter/", "/recherche/?q=x"])
def test_every_page_advertises_the_feed(client, url):
    """Every page links to the RSS feed with <link rel="alternate">."""
    assert '<link rel="alternate" type="application/rss+xml"' in page(client, url)


def test_sitemap_lists_public_pages_with_lastmod(client):
    """/sitemap.xml has sections, published articles with lastmod, authors and tags."""
    author = make_author(name="Dinara")
    article = make_article(authors=[author])
    article.tags.add(make_tag("Turkménistan", kind=Tag.Kind.COUNTRY))
    draft = make_article(published=False, slug="brouillon-secret")
    content = page(client, "/sitemap.xml")
    site = settings.SITE_URL
    assert f"<loc>{site}{article.get_absolute_url()}</loc>" in content
    assert f"<loc>{site}{article.section.get_absolute_url()}</loc>" in content
    assert f"<loc>{site}{author.get_absolute_url()}</loc>" in content
    assert f"<loc>{site}/sujet/turkmenistan/</loc>" in content
    assert "<lastmod>" in content
    assert draft.slug not in content


def test_news_sitemap_has_the_last_two_days(client):
    """The Google News sitemap lists articles of the last two days with name,
    language, date and title."""
    fresh = make_article(title="Dépêche fraîche", published_at=timezone.now() - timedelta(hours=5))
    make_article(title="Dépêche ancienne", published_at=timezone.now() - timedelta(days=3))
    make_article(title="Dépêche à venir", published_at=timezone.now() + timedelta(hours=5))
    content = page(client, "/sitemap-news.xml")
    assert "Dépêche fraîche" in content
    assert "Dépêche ancienne" not in content and "Dépêche à venir" not in content
    assert f"<news:name>{settings.SITE_NAME}</news:name>" in content
    assert "<news:language>fr</news:language>" in content
    assert (
        f"<news:publication_date>{fresh.published_at.astimezone(timezone.get_current_timezone()).isoformat()}"
        in content
    )  # noqa: E501


def test_robots_txt_points_to_both_sitemaps(client):
    """robots.txt names both sitemaps and keeps robots out of the admin."""
    content = page(client, "/robots.txt")
    assert f"Sitemap: {settings.SITE_URL}/sitemap.xml" in content
    assert f"Sitemap: {settings.SITE_URL}/sitemap-news.xml" in content
    assert "Disallow: /admin/" in content


def test_favicon_ico_leads_to_the_site_icon(client):
    """/favicon.ico, which browsers ask for by themselves, redirects permanently
    to the static SVG icon that pages link to."""
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == static("images/favicon.svg")


@pytest.mark.parametrize(
    "kind", ["home", "section", "author", "tag", "article", "search", "newsletter"]
)
def test_every_page_has_title_description_canonical_and_social_tags(client, kind):
    """Title, meta description, canonical URL, Open Graph and Twitter card on each page."""
    author = make_author()
    article = make_article(authors=[author])
    country = make_tag("Kazakhstan", kind=Tag.Kind.COUNTRY)
    article.tags.add(country)
    url = {
        "home": "/",
        "section": article.section.get_absolute_url(),
        "author": author.get_absolute_url(),
        "tag": country.get_absolute_url(),
        "article": article.get_absolute_url(),
        "search": "/recherche/?q=kazakhstan",
        "newsletter": "/newsletter/",
    }[kind]
    content = page(client, url)
    assert re.search(r"<title>[^<]+</title>", content)
    assert re.search(r'<meta name="description" content="[^"]+">', content)
    path = url.split("?")[0]
    assert f'<link rel="canonical" href="{settings.SITE_URL}{path}">' in content
    for prop in ("og:title", "og:description", "og:url", "og:image", "og:type"):
        assert f'<meta property="{prop}" content="' in content
    assert '<meta name="twitter:card" content="summary_large_image">' in content


def test_names_in_page_descriptions_are_escaped_once(client):
    """A tag or an author whose name holds « & » or quotes: the meta
    description says it once escaped, as any attribute (not « &amp;amp; »)."""
    author = make_author(name="Anna « Ana » O’Neil & co")
    article = make_article(authors=[author])
    tag = make_tag("Gaz & pétrole")
    article.tags.add(tag)
    content = page(client, tag.get_absolute_url())
    assert '<meta name="description" content="Tous les articles sur : Gaz &amp; pétrole.">' in (
        content
    )
    content = page(client, author.get_absolute_url())
    assert (
        '<meta name="description" content="Les articles de Anna « Ana » O’Neil &amp; co.">'
        in content
    )
    assert "&amp;amp;" not in content


def test_a_missing_image_file_does_not_break_the_page(client):
    """An image written around the model (no copies of it) whose file is gone:
    the page still renders, with the original's address."""
    article = make_article(hero_image_alt="x")
    Article.objects.filter(pk=article.pk).update(
        hero_image="articles/disparue.jpg", hero_image_width=600, hero_image_height=400
    )
    article.refresh_from_db()
    response = client.get(article.get_absolute_url())
    assert response.status_code == 200
    assert f'src="{article.hero_image.url}" width="600" height="400"' in (
        response.content.decode()
    )


def test_a_missing_image_file_without_stored_dimensions_breaks_no_page(client):
    """A row without the image's dimensions makes Django open the file when the
    article is loaded: a file gone from storage (a bucket restored without it)
    still gives every page that lists the article, and the article itself."""
    article = make_article(hero_image=image_upload(width=600, height=400), hero_image_alt="x")
    Article.objects.filter(pk=article.pk).update(hero_image_width=None, hero_image_height=None)
    default_storage.delete(article.hero_image.name)
    for url in ("/", article.section.get_absolute_url(), article.get_absolute_url(), "/feed/"):
        assert client.get(url).status_code == 200, url


def test_loading_opens_an_image_only_when_its_dimensions_are_not_stored(monkeypatch):
    """A row with the image's dimensions is loaded without touching storage (a
    listing loads thirty); a row without them reads them from the file."""
    article = make_article(hero_image=image_upload(width=600, height=400), hero_image_alt="x")
    opened = []
    storage_class = type(storages["default"])
    real_open = storage_class.open

    def recording_open(storage, name, *args, **kwargs):
        opened.append(name)
        return real_open(storage, name, *args, **kwargs)

    monkeypatch.setattr(storage_class, "open", recording_open)
    loaded = Article.objects.get(pk=article.pk)
    assert (loaded.hero_image_width, loaded.hero_image_height) == (600, 400)
    assert opened == []
    Article.objects.filter(pk=article.pk).update(hero_image_width=None, hero_image_height=None)
    loaded = Article.objects.get(pk=article.pk)
    assert (loaded.hero_image_width, loaded.hero_image_height) == (600, 400)
    assert opened == [article.hero_image.name]


def test_addresses_follow_the_script_prefix_the_site_is_served_under():
    """Addresses are remembered once computed, but for the prefix they were
    computed under: a site served under /journal/ links under /journal/."""
    article = make_article(title="Le barrage de Rogun")
    assert article.get_absolute_url() == f"/article/{article.slug}/"
    set_script_prefix("/journal/")
    try:
        assert article.get_absolute_url() == f"/journal/article/{article.slug}/"
        assert article.section.get_absolute_url() == f"/journal/rubrique/{article.section.slug}/"
    finally:
        set_script_prefix("/")
    assert article.get_absolute_url() == f"/article/{article.slug}/"
