import pytest

from articles.sanitizer import html_to_text, sanitize_html
from tests.factories import make_article

pytestmark = pytest.mark.django_db


def test_script_in_the_body_is_removed_on_save():
    """A script in the body never reaches the database, its content included."""
    article = make_article(body="<p>Avant</p><script>document.cookie</script><p>Après</p>")
    article.refresh_from_db()
    assert article.body == "<p>Avant</p><p>Après</p>"


def test_allowed_markup_survives():
    """What journalists produce (headings, emphasis, links, lists, quotes, figures) stays."""
    html = (
        "<h2>Titre</h2><h3>Sous-titre</h3><p><strong>gras</strong> <em>italique</em> "
        '<a href="https://example.org/">lien</a></p><ul><li>un</li></ul><ol><li>deux</li></ol>'
        "<blockquote><p>citation</p></blockquote>"
        '<figure class="image image-captioned"><img src="/media/editor/a.jpg" alt="x" '
        'width="10" height="10"><figcaption>légende</figcaption></figure>'
    )
    cleaned = sanitize_html(html)
    assert cleaned == html.replace(
        'href="https://example.org/"', 'href="https://example.org/" rel="noopener noreferrer"'
    )


def test_images_from_other_hosts_lose_their_source():
    """Only our own uploads may be shown: readers' browsers fetch nothing elsewhere."""
    assert "src" not in sanitize_html('<img src="https://tracker.example/p.gif">')
    assert "src" not in sanitize_html('<img src="//tracker.example/p.gif">')
    assert 'src="/media/editor/a.png"' in sanitize_html('<img src="/media/editor/a.png">')


def test_html_to_text_separates_blocks_and_unescapes():
    """Plain text keeps words apart across paragraphs and decodes entities."""
    assert html_to_text("<p>Tom &amp; Jerry</p><p>café</p>") == "Tom & Jerry café"
