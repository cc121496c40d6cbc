"""Translation credits (#11 §6): an article names its original language, title
and address and its translators; the page, the JSON-LD, author pages, the
admin form and revisions carry them."""

import json
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from articles.models import Article, ArticleRevision, OriginalLanguage
from tests.factories import (
    admin_article_data,
    change_url,
    client_for,
    make_article,
    make_author,
    make_member,
)

pytestmark = pytest.mark.django_db
ORIGINAL_URL = "https://example.org/ru/migranty"


def translated(translators, **fields):
    fields.setdefault("original_language", OriginalLanguage.RUSSIAN)
    fields.setdefault("original_title", "Мигранты и их семьи")
    fields.setdefault("original_url", ORIGINAL_URL)
    article = make_article(**fields)
    article.translators.set(translators)
    return article


def json_ld(client, article):
    content = client.get(article.get_absolute_url()).content.decode()
    raw = re.search(r'<script type="application/ld\+json">(.*?)</script>', content, re.S).group(1)
    return json.loads(raw)


# The page --------------------------------------------------------------------------


def test_a_translated_article_credits_its_translators_and_links_the_original(client):
    """« Traduit du russe par A et B », the translators linked to their pages as
    bylines are, then the original's title, in its language, linking to it."""
    first, second = make_author(name="Anna Petrova"), make_author(name="Élise Marchand")
    article = translated([second, first])
    response = client.get(article.get_absolute_url())
    assertContains(
        response,
        f'Traduit du russe par <a class="author" href="{first.get_absolute_url()}">'
        f'Anna Petrova</a> et <a class="author" href="{second.get_absolute_url()}">'
        "Élise Marchand</a>.",
    )
    assertContains(
        response,
        f'<a href="{ORIGINAL_URL}" hreflang="ru">L’original : '
        '<cite lang="ru">Мигранты и их семьи</cite></a>',
        html=False,
    )


@pytest.mark.parametrize(
    ("language", "phrase"),
    [
        (OriginalLanguage.KAZAKH, "Traduit du kazakh"),
        (OriginalLanguage.KYRGYZ, "Traduit du kirghiz"),
        (OriginalLanguage.UZBEK, "Traduit de l’ouzbek"),
        (OriginalLanguage.ENGLISH, "Traduit de l’anglais"),
        (OriginalLanguage.OTHER, "Traduit d’une autre langue"),
    ],
)
def test_the_credit_speaks_french_for_each_language(client, language, phrase):
    """Each language gets its French phrase (« du », « de l’ »); without an
    address, the original's title is shown without a link; « autre langue » puts
    no language code on it."""
    article = translated(
        [make_author(name="Une Traductrice")], original_language=language, original_url=""
    )
    content = client.get(article.get_absolute_url()).content.decode()
    assert f"{phrase} par " in content
    assert "<cite" in content and 'href="https://example.org' not in content
    assert 'lang="other"' not in content and 'hreflang="other"' not in content


def test_an_article_written_in_french_has_no_credit(client):
    """No original language, no translation credit and no translation in JSON-LD."""
    article = make_article()
    assertNotContains(client.get(article.get_absolute_url()), "translation-credit")
    data = json_ld(client, article)
    assert "translator" not in data and "translationOfWork" not in data


def test_json_ld_names_the_translators_and_the_original_work(client):
    """The NewsArticle says it is in French, names its translators as Person
    and the work it translates, with its title, address and language."""
    translator = make_author(name="Élise Marchand")
    article = translated([translator])
    data = json_ld(client, article)
    assert data["inLanguage"] == "fr"
    assert data["translator"] == [
        {
            "@type": "Person",
            "name": "Élise Marchand",
            "url": settings.SITE_URL + translator.get_absolute_url(),
        }
    ]
    assert data["translationOfWork"] == {
        "@type": "CreativeWork",
        "name": "Мигранты и их семьи",
        "url": ORIGINAL_URL,
        "inLanguage": "ru",
    }


def test_json_ld_of_a_translation_without_details_says_only_what_is_known(client):
    """A translation from « autre langue » with no title, address or translator
    carries a bare CreativeWork, and no empty translator list."""
    article = make_article(original_language=OriginalLanguage.OTHER)
    data = json_ld(client, article)
    assert data["translationOfWork"] == {"@type": "CreativeWork"}
    assert "translator" not in data


def test_a_new_translator_shows_at_once_on_a_cached_page(client):
    """The translators' table advances the content clock: a cached page shows
    a translator added afterwards."""
    article = translated([make_author(name="Première Plume")])
    url = article.get_absolute_url()
    client.get(url)
    assert client.get(url)["X-Page-Cache"] == "hit"
    article.translators.add(make_author(name="Seconde Plume"))
    assertContains(client.get(url), "Seconde Plume")


# Author pages ------------------------------------------------------------------------


def test_a_translator_gets_a_public_page_once_a_published_article_credits_them(client):
    """An author who only translates is public like a byline: 404 while the
    translation is a draft; once published, their page lists it and the sitemap
    has it."""
    translator = make_author(name="Élise Marchand", bio="Traductrice du russe.")
    draft = translated([translator], published=False, title="Traduction en cours")
    page = translator.get_absolute_url()
    assert client.get(page).status_code == 404
    assert page not in client.get("/sitemap.xml").content.decode()

    Article.objects.filter(pk=draft.pk).update(
        status=Article.Status.PUBLISHED, published_at=timezone.now() - timedelta(hours=1)
    )
    translated([translator], authors=[translator], title="Signé et traduit")
    response = client.get(page)
    assertContains(response, "Traductrice du russe.")
    assertContains(response, "Traduction en cours")
    assertContains(response, "Signé et traduit", count=1)
    assert page in client.get("/sitemap.xml").content.decode()


# The admin ------------------------------------------------------------------------------


def test_an_editor_credits_a_translation_in_the_form_and_the_revision_keeps_it():
    """The « Traduction » fieldset saves the language, title, address and
    translators; the revision records them and the history shows the names."""
    editor = make_member("Éditeur")
    client = client_for(editor)
    article = make_article(published=False)
    form = client.get(change_url(article))
    assertContains(form, "Traduction")
    assertContains(form, 'name="original_language"')
    translator = make_author(name="Élise Marchand")
    response = client.post(
        change_url(article),
        admin_article_data(
            article,
            original_language="ru",
            original_title="Мигранты",
            original_url=ORIGINAL_URL,
            translators=[translator.pk],
        ),
    )
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.original_language == OriginalLanguage.RUSSIAN
    assert list(article.translators.all()) == [translator]
    revision = ArticleRevision.objects.filter(article=article).latest("pk")
    assert revision.data["translators"] == [translator.pk]
    assert revision.data["original_language"] == "ru"
    assert {"original_language", "translators"} <= set(revision.changed_fields)
    history = client.get(reverse("admin:articles_article_revisions", args=[article.pk]))
    assertContains(history, "<ins>Élise Marchand</ins>")
    assertContains(history, "<ins>russe</ins>")


def test_a_credit_without_the_original_language_is_refused_in_french():
    """Translators, an original title or an address need the original language:
    the form says so next to that field and saves nothing."""
    client = client_for(make_member("Éditeur"))
    article = make_article(published=False)
    response = client.post(
        change_url(article),
        admin_article_data(article, translators=[make_author().pk]),
    )
    assert response.status_code == 200
    assertContains(response, "Indiquez la langue originale")
    assert not article.translators.exists()


@pytest.mark.parametrize("address", ["javascript:alert(1)", "ftp://example.org/original"])
def test_the_original_address_must_be_a_web_address(address):
    """Only http and https addresses are taken for the original."""
    client = client_for(make_member("Éditeur"))
    article = make_article(published=False)
    response = client.post(
        change_url(article),
        admin_article_data(article, original_language="ru", original_url=address),
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["original_url"]
    article.refresh_from_db()
    assert article.original_url == ""


def test_restoring_a_version_brings_its_translators_back():
    """Translation credits are content: restoring a version restores them."""
    editor = make_member("Éditeur")
    client = client_for(editor)
    first, second = make_author(name="Première"), make_author(name="Seconde")
    article = translated([first], published=False)
    client.post(change_url(article), admin_article_data(article))
    kept = ArticleRevision.objects.filter(article=article).latest("pk")
    article.refresh_from_db()
    client.post(
        change_url(article),
        admin_article_data(article, original_language="kk", translators=[second.pk]),
    )
    client.post(reverse("admin:articles_article_restore", args=[article.pk, kept.pk]))
    article.refresh_from_db()
    assert article.original_language == OriginalLanguage.RUSSIAN
    assert list(article.translators.all()) == [first]


def test_a_journalist_who_translates_a_draft_may_edit_it():
    """Translators with an account own the draft they translate, like bylines."""
    journalist = make_member("Journaliste")
    translator = make_author(name="Traductrice", user=journalist)
    article = translated([translator], published=False, authors=[make_author()])
    response = client_for(journalist).post(
        change_url(article), admin_article_data(article, title="Titre traduit revu")
    )
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.title == "Titre traduit revu"


def test_the_translators_table_advances_the_content_clock():
    """Public pages show translators, so their table carries the clock trigger."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass",
            ["articles_article_translators"],
        )
        triggers = {row[0] for row in cursor.fetchall()}
    assert "newsroom_content_changed" in triggers


def test_every_original_language_has_its_credit_phrase():
    """Each language an editor may choose has its « Traduit du/de la … » phrase."""
    from articles.models import TRANSLATED_FROM, OriginalLanguage

    assert set(TRANSLATED_FROM) == set(OriginalLanguage)
    assert all(str(phrase).startswith("Traduit d") for phrase in TRANSLATED_FROM.values())
