import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains

from tests.factories import image_upload, make_article, make_author, make_section

pytestmark = pytest.mark.django_db


def test_home_lists_latest_published_articles_newest_first(client):
    """The home page shows published articles, newest first, with section and standfirst."""
    section = make_section(name="Économie")
    older = make_article(
        title="Le plus ancien", section=section, published_at=timezone.now() - timedelta(days=3)
    )
    newer = make_article(
        title="Le plus récent", section=section, published_at=timezone.now() - timedelta(hours=1)
    )
    make_article(title="Un brouillon secret", published=False)

    response = client.get("/")

    assertContains(response, f'<p class="card__standfirst">{newer.standfirst}</p>', html=True)
    assertContains(response, "Économie")
    content = response.content.decode()
    assert content.index(newer.title) < content.index(older.title)
    assert "Un brouillon secret" not in content


def test_home_shows_hero_images(client):
    """Article cards show the hero image, resized, with its dimensions."""
    make_article(hero_image=image_upload(width=300, height=200))
    content = client.get("/").content.decode()
    assert 'width="300" height="200"' in content
    assert "/media/renditions/" in content


def test_section_page_lists_its_published_articles_paginated(client, settings):
    """A section page lists only that section's published articles, a page at a time."""
    settings.ARTICLES_PER_PAGE = 2
    section = make_section(name="Diplomatie", description="Relations entre États.")
    mine = [make_article(section=section, title=f"Diplomatie {i}") for i in range(3)]
    make_article(title="Ailleurs")
    make_article(section=section, title="Brouillon diplomatique", published=False)

    first = client.get(section.get_absolute_url()).content.decode()
    second = client.get(section.get_absolute_url() + "?page=2").content.decode()

    assert "Relations entre États." in first
    assert mine[0].title in first and mine[1].title in first
    assert mine[2].title not in first and mine[2].title in second
    assert "Ailleurs" not in first + second
    assert "Brouillon diplomatique" not in first + second
    assert "Page 1 sur 2" in first


@pytest.mark.parametrize("page_cache", [True, False])
def test_section_page_links_carry_the_page_number_only(client, settings, page_cache):
    """A section's links to its other pages are ?page=N, whatever else the address
    held (utm_…, a search, source), with the page cache in front or not."""
    settings.PAGE_CACHE_ENABLED = page_cache
    settings.ARTICLES_PER_PAGE = 1
    section = make_section()
    for index in range(3):
        make_article(section=section, title=f"Diplomatie {index}")
    response = client.get(
        section.get_absolute_url(),
        {"page": "2", "utm_campaign": "lettre", "q": "mot", "source": "/x/"},
    )
    links = re.findall(r'<a rel="(prev|next)" href="([^"]*)"', response.content.decode())
    assert links == [("prev", "?page=1"), ("next", "?page=3")]


@pytest.mark.parametrize("page", ["abc", "999", "-1", "0", "1e9", "%00"])
def test_section_page_tolerates_bad_page_numbers(client, page):
    """Malformed or out-of-range page numbers give an ordinary page, not an error."""
    section = make_section()
    make_article(section=section)
    response = client.get(section.get_absolute_url(), {"page": page})
    assert response.status_code == 200


def test_unknown_section_is_404_in_site_style(client):
    """An unknown section answers 404 with the site's own page."""
    response = client.get("/rubrique/inconnue/")
    assertContains(response, "Page introuvable", status_code=404)


def test_article_page_shows_everything_a_reader_needs(client):
    """Headline, standfirst, hero image with caption and credit, byline, French
    date, body with subheadings, and the newsletter box."""
    article = make_article(
        title="Astana et Bichkek resserrent leurs liens",
        standfirst="Les deux présidents se sont retrouvés à Astana.",
        body="<p>Premier paragraphe.</p><h2>Un objectif de 2 milliards</h2><p>Suite.</p>",
        hero_image=image_upload(width=400, height=250),
        hero_image_alt="Deux présidents se serrent la main",
        hero_image_caption="Kassym-Jomart Tokaïev et Sadyr Japarov à Astana",
        hero_image_credit="Photo : Rédaction",
        published_at=datetime(2024, 4, 19, 16, 30, tzinfo=ZoneInfo("Asia/Almaty")),
        authors=[make_author(name="Aïgerim Seitkali"), make_author(name="Claire Dubreuil")],
    )

    response = client.get(article.get_absolute_url())

    content = response.content.decode()
    assert "<h1>Astana et Bichkek resserrent leurs liens</h1>" in content
    assert "Les deux présidents se sont retrouvés à Astana." in content
    assert 'alt="Deux présidents se serrent la main"' in content
    assert "Kassym-Jomart Tokaïev et Sadyr Japarov à Astana" in content
    assert "Photo : Rédaction" in content
    assert "Aïgerim Seitkali" in content and "Claire Dubreuil" in content
    assert "19 avril 2024 à 16 h 30" in content
    assert "<h2>Un objectif de 2 milliards</h2>" in content
    assert "Pour rester informé des actualités de l’Asie centrale" in content
    assert f'action="{reverse("newsletter:subscribe")}"' in content


def test_first_of_the_month_is_written_as_an_ordinal(client):
    """French dates write the first day of a month « 1er »."""
    article = make_article(published_at=datetime(2025, 5, 1, 9, 5, tzinfo=ZoneInfo("Asia/Almaty")))
    content = client.get(article.get_absolute_url()).content.decode()
    assert "1er mai 2025 à 9 h 05" in content
