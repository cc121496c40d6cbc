import html
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pytest_django.asserts import assertContains

from articles.models import Article, Section
from newsletter.models import Subscriber
from tests.factories import (
    admin_article_data,
    image_bytes,
    make_article,
    make_author,
    make_section,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:index",
        "admin:articles_article_changelist",
        "admin:articles_article_add",
        "admin:articles_section_changelist",
        "admin:articles_section_add",
        "admin:articles_author_changelist",
        "admin:newsletter_subscriber_changelist",
    ],
)
def test_admin_pages_open_for_a_superuser(admin_client, url_name):
    """Every admin page of our models opens, in French."""
    make_article()
    response = admin_client.get(reverse(url_name))
    assertContains(response, '<html lang="fr"')


def test_article_change_form_uses_ckeditor_and_prefills_the_slug(admin_client):
    """The article form loads CKEditor on the body, sending its images to our upload
    view, and pre-fills the slug from the title."""
    article = make_article()
    response = admin_client.get(reverse("admin:articles_article_change", args=[article.pk]))
    assertContains(response, '<script src="/static/ckeditor/ckeditor/ckeditor.js"></script>')
    content = response.content.decode()
    body = re.search(r'<textarea name="body"[^>]*>', content).group()
    assert 'data-type="ckeditortype"' in body
    config = json.loads(html.unescape(re.search(r'data-config="([^"]*)"', body).group(1)))
    upload_keys = ("uploadUrl", "filebrowserUploadUrl", "filebrowserImageUploadUrl")
    assert [config[key] for key in upload_keys] == [reverse("articles:editor-image-upload")] * 3
    prepopulated = re.search(r'data-prepopulated-fields="([^"]*)"', content).group(1)
    assert [
        (field["name"], field["dependency_list"])
        for field in json.loads(html.unescape(prepopulated))
    ] == [("slug", ["title"])]


def test_article_changelist_has_columns_filters_and_search(admin_client):
    """The list shows title, section, status and date; it filters and searches."""
    section = make_section(name="Énergie")
    make_article(title="Le barrage de Rogun", section=section)
    make_article(title="Le cinéma kirghiz")
    url = reverse("admin:articles_article_changelist")

    content = admin_client.get(url).content.decode()
    for column in ("Titre", "Rubrique", "Statut", "Publication", "Signatures"):
        assert column in content
    searched = admin_client.get(url, {"q": "Rogun"}).content.decode()
    assert "Le barrage de Rogun" in searched and "Le cinéma kirghiz" not in searched
    filtered = admin_client.get(url, {"section__id__exact": section.pk}).content.decode()
    assert "Le barrage de Rogun" in filtered and "Le cinéma kirghiz" not in filtered


def _article_form(section, author, **overrides):
    return admin_article_data(
        section=section.pk, authors=[author.pk], status=Article.Status.PUBLISHED, **overrides
    )


def test_admin_creates_an_article_with_image_and_sanitised_body(admin_client):
    """Saving through the admin stores a re-encoded image and a body without scripts."""
    section, author = make_section(), make_author()
    upload = SimpleUploadedFile("Portrait Officiel.JPG", image_bytes(640, 480), "image/jpeg")
    data = _article_form(
        section,
        author,
        body='<h2>Titre</h2><p onclick="steal()">Bonjour<script>alert(1)</script></p>',
        hero_image=upload,
        hero_image_alt="Un portrait",
    )

    response = admin_client.post(reverse("admin:articles_article_add"), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    article = Article.objects.get(slug="un-nouvel-article")
    assert article.body == "<h2>Titre</h2><p>Bonjour</p>"
    # Named by chance, not after the camera's file: a draft's image cannot be guessed.
    assert re.fullmatch(r"articles/\d{4}/\d{2}/[0-9a-f]{32}\.jpg", article.hero_image.name)
    assert (article.hero_image_width, article.hero_image_height) == (640, 480)
    assert article.is_public


def test_admin_refuses_a_non_image_with_a_clear_message(admin_client):
    """A file that is not an image is refused next to the field, and nothing is saved."""
    section, author = make_section(), make_author()
    fake = SimpleUploadedFile("photo.jpg", b"<html><script>alert(1)</script></html>")
    response = admin_client.post(
        reverse("admin:articles_article_add"), _article_form(section, author, hero_image=fake)
    )
    assertContains(response, "n’est pas une image lisible")
    assert not Article.objects.exists()


def test_section_admin_protects_sections_that_have_articles(admin_client):
    """A section that still holds articles cannot be deleted: the admin names them."""
    article = make_article()
    response = admin_client.post(
        reverse("admin:articles_section_delete", args=[article.section.pk]), {"post": "yes"}
    )
    assertContains(response, "<h1>Impossible de supprimer rubrique</h1>", html=True)
    assertContains(response, f">{article.title}</a></li>")
    assert Section.objects.filter(pk=article.section.pk).exists()


def test_subscriber_admin_exports_csv(admin_client):
    """Editors export the selected subscribers as CSV, formulas neutralised."""
    Subscriber.objects.create(email="amina@exemple.kz", status=Subscriber.Status.CONFIRMED)
    Subscriber.objects.create(email="=cmd@exemple.kz", source="/article/x/")
    response = admin_client.post(
        reverse("admin:newsletter_subscriber_changelist"),
        {
            "action": "export_csv",
            "_selected_action": list(Subscriber.objects.values_list("pk", flat=True)),
        },
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8")
    lines = body.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("adresse e-mail,statut")
    assert any(line.startswith("amina@exemple.kz,Confirmé,") for line in lines)
    assert any(line.startswith("'=cmd@exemple.kz,") for line in lines)


def test_subscriber_changelist_filters_and_searches(admin_client):
    """The subscriber list filters by status and searches by address."""
    Subscriber.objects.create(email="confirme@exemple.fr", status=Subscriber.Status.CONFIRMED)
    Subscriber.objects.create(email="attente@exemple.fr")
    url = reverse("admin:newsletter_subscriber_changelist")
    filtered = admin_client.get(url, {"status__exact": "confirmed"}).content.decode()
    assert "confirme@exemple.fr" in filtered and "attente@exemple.fr" not in filtered
    searched = admin_client.get(url, {"q": "attente"}).content.decode()
    assert "attente@exemple.fr" in searched and "confirme@exemple.fr" not in searched
