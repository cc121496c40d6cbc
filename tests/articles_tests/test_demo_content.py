import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from articles.models import Article, ArticleNote, Author, OriginalLanguage, Section
from articles.renditions import HeroRenditions
from articles.sanitizer import html_to_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("load_demo_content", "--with-accounts", verbosity=0)


def test_demo_content_loads_once_and_twice_changes_nothing(demo):
    """load_demo_content creates sections, authors, about a dozen published
    articles with images and one in review; a second run duplicates nothing
    (no article, note or translator twice) and gives an article loaded before
    translation credits existed its credit."""
    counts = (
        Section.objects.count(),
        Author.objects.count(),
        Article.objects.count(),
        ArticleNote.objects.count(),
        Article.translators.through.objects.count(),
    )
    images = set(Article.objects.values_list("hero_image", flat=True))
    # As in a database loaded before translation credits existed: the next run
    # adds the credit, and keeps the article's modification date.
    translated = Article.objects.get(original_language=OriginalLanguage.RUSSIAN)
    Article.objects.filter(pk=translated.pk).update(original_language="", original_title="")
    translated.translators.clear()

    call_command("load_demo_content", "--with-accounts", verbosity=0)

    assert (
        Section.objects.count(),
        Author.objects.count(),
        Article.objects.count(),
        ArticleNote.objects.count(),
        Article.translators.through.objects.count(),
    ) == counts
    assert set(Article.objects.values_list("hero_image", flat=True)) == images
    assert 5 <= counts[0] <= 8 and counts[2] >= 10
    assert Article.objects.published().count() == counts[2] - 1
    assert get_user_model().objects.filter(username="admin", is_superuser=True).count() == 1
    updated_at = translated.updated_at
    translated.refresh_from_db()
    assert translated.original_language == OriginalLanguage.RUSSIAN
    assert translated.updated_at == updated_at


def test_the_demo_has_a_translation_and_an_article_in_review_with_a_note(demo, client):
    """One published demo article is translated from Russian: its page credits
    its translator, who signs nothing and whose author page is public. One
    article, signed by the demo journalist's byline, is in review with one note
    to resolve, written by the demo editor."""
    article = Article.objects.published().get(original_language=OriginalLanguage.RUSSIAN)
    assert Article.objects.exclude(original_language="").count() == 1
    translator = article.translators.get()
    assert not translator.articles.exists() and article.original_title
    page = client.get(article.get_absolute_url()).content.decode()
    credit = f'Traduit du russe par <a class="author" href="{translator.get_absolute_url()}">'
    assert credit in page
    assert client.get(translator.get_absolute_url()).status_code == 200

    in_review = Article.objects.get(status=Article.Status.REVIEW)
    note = in_review.notes.open().get()
    assert note.created_by.username == "editrice"
    assert in_review.owners().filter(username="journaliste").exists()


def test_demo_articles_have_a_realistic_shape(demo):
    """Each demo article (the one in review too) has a standfirst, 3–4
    subheadings, about 600 words, an image with alt text and caption, and at
    least one byline; the Astana meeting of April 2024 is reported with its
    figures."""
    for article in Article.objects.prefetch_related("authors"):
        words = len(html_to_text(article.body).split())
        assert 450 <= words <= 800, (article.slug, words)
        assert 3 <= article.body.count("<h2>") <= 4, article.slug
        assert article.standfirst and article.hero_image and article.hero_image_alt
        assert article.hero_image_caption and article.authors.exists()
        assert article.tags.count() >= 2
        assert HeroRenditions.of(article).copies("card", "webp"), article.slug
        # The focal point is the drawing's sun, off centre.
        assert (article.hero_focal_x, article.hero_focal_y) != (0.5, 0.5), article.slug
    article = Article.objects.get(slug__startswith="astana-")
    text = html_to_text(article.body)
    assert article.published_at.year == 2024 and article.published_at.month == 4
    for fact in ("1,5 milliard", "2 milliards", "10 %", "300 millions"):
        assert fact in text.replace("\xa0", " "), fact
    assert "Tokaïev" in article.standfirst and "Japarov" in article.standfirst


def test_demo_images_are_stored_with_their_dimensions(demo):
    """Width and height are in the database, so loading an article never opens
    its image file (on object storage, one request per article listed)."""
    illustrated = Article.objects.exclude(hero_image="")
    assert illustrated.count() >= 10
    assert set(illustrated.values_list("hero_image_width", "hero_image_height")) == {(1600, 1000)}


def test_the_demo_home_page_has_a_most_read_block(demo, client):
    """The demo counts readings of the last day, once: « Les plus lus » lists
    five articles, and loading the demo again adds no readings."""
    from articles.models import ReadCount

    content = client.get("/").content.decode()
    block = content[content.index('class="most-read"') :]
    assert block[: block.index("</ol>")].count("<li>") == 5
    total = sum(ReadCount.objects.values_list("count", flat=True))
    call_command("load_demo_content", verbosity=0)
    assert sum(ReadCount.objects.values_list("count", flat=True)) == total


def test_demo_newsletters_have_an_archive(demo, client):
    """Two newsletters, each with sent issues in its archive and subscribers;
    a second run adds no issue."""
    from newsletter.models import Issue, Newsletter, Subscriber

    essentiel, alertes = Newsletter.objects.order_by("position")
    assert (essentiel.name, essentiel.is_default, alertes.name) == ("L’essentiel", True, "Alertes")
    for newsletter in (essentiel, alertes):
        assert newsletter.issues.sent().count() >= 2
        assert Subscriber.objects.recipients_of(newsletter).exists()
        page = client.get(newsletter.get_absolute_url())
        assert page.status_code == 200
        assert newsletter.issues.sent().first().subject in page.content.decode()
    count = Issue.objects.count()
    call_command("load_demo_content", verbosity=0)
    assert Issue.objects.count() == count
