"""Property tests (Hypothesis): whatever text lands in the plain-text fields of
an article, section, author, tag, correction and newsletter issue, through the
ORM, the admin form or a raw UPDATE, every public page and output answers and
parses with a real parser: feeds with feedparser, sitemaps against the sitemap
schema, JSON-LD with ``json.loads``, pages with an HTML5 parser (strict: no
parse error at all), emails with the ``email`` package.

Examples Hypothesis found are kept as regular tests at the end of the file."""

import html
import json
import re
import unicodedata
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import quote, urlencode

import feedparser
import html5lib
import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from articles.models import Article, Author, Correction, Section, Tag
from articles.plaintext import (
    _BREAKS,
    _CONTROLS,
    _NOT_HTML_BYTES,
    drop_controls,
    html_safe,
    html_safe_bytes,
    normalize_line,
    normalize_text,
    xml_safe,
)
from articles.search import _PY_TABLE, fold
from articles.typography import french_spacing
from newsletter.emails import issue_message, render_issue
from newsletter.models import Issue, IssueArticle
from tests.factories import admin_article_data, image_upload, make_subscriber, make_user

pytestmark = pytest.mark.django_db(transaction=False)

# What people paste and attackers type: C0/C1 controls (Word's vertical tab),
# NUL, lone surrogates, noncharacters, bidirectional overrides and isolates,
# separators, combining marks and characters NFC expands, markup and the
# sequences that end a CDATA section, a comment or a script.
SPECIALS = [
    "\x00",
    "\x01",
    "\x08",
    "\x0b",
    "\x0c",
    "\x1b",
    "\x1f",
    "\x7f",
    "\x85",
    "\x9f",
    "\ud800",
    "\udfff",
    "\ufffe",
    "\uffff",
    "\ufeff",
    "\u200b",
    "\u00ad",
    "\u202a",
    "\u202b",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2069",
    "\u200f",
    "\u2028",
    "\u2029",
    "\r\n",
    "\r",
    "\n\n",
    "\t",
    "  ",
    "e\u0301",
    "\u0958",
    "\ufb2c",
    "\U0001f600",
    "\U0010ffff",
    "]]>",
    "<![CDATA[",
    "<!--",
    "-->",
    "</script>",
    "<script>alert(1)</script>",
    "</title>",
    "<img src=x onerror=alert(1)>",
    "&",
    "&amp;",
    "&#0;",
    "<",
    ">",
    '"',
    "'",
    "« ",
    " »",
    " :",
    " ?",
    "{{ x }}",
    "{% now 'Y' %}",
    "%s",
    "\\",
    "Ωmég@",
]

_PIECE = st.one_of(
    st.sampled_from(SPECIALS),
    st.text(st.characters(exclude_categories=()), max_size=6),
    st.text("abcdéèàçôÿŒ ’-", min_size=1, max_size=8),
)
TEXT = st.lists(_PIECE, max_size=14).map("".join)
# Very long values, for the fields with no length limit.
LONG = st.tuples(TEXT.filter(bool), st.integers(200, 2000)).map(lambda pair: pair[0] * pair[1])


def line(max_length):
    """One-line text that fits ``max_length`` once normalised (NFC may lengthen
    a value: U+0958 becomes two code points)."""
    return TEXT.filter(lambda value: 0 < len(normalize_line(value)) <= max_length)


CONTENT_FIELDS = {
    "section_name": line(100),
    "section_description": TEXT,
    "author_name": line(150),
    "author_bio": st.one_of(TEXT, LONG),
    "tag_name": line(100),
    "title": line(200),
    "standfirst": st.one_of(TEXT, LONG),
    "body": st.one_of(TEXT, LONG),
    "alt": line(250),
    "caption": line(300),
    "credit": line(150),
    "correction": TEXT,
    "subject": line(200),
    "introduction": TEXT,
}
CONTENT = st.fixed_dictionaries(CONTENT_FIELDS)

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
_SITEMAP_SCHEMA = None


def sitemap_schema():
    """The sitemap protocol's schema with the Google News extension."""
    global _SITEMAP_SCHEMA
    if _SITEMAP_SCHEMA is None:
        wrapper = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
          <xs:import namespace="http://www.sitemaps.org/schemas/sitemap/0.9"
                     schemaLocation="{(SCHEMAS / "sitemap.xsd").as_uri()}"/>
          <xs:import namespace="http://www.google.com/schemas/sitemap-news/0.9"
                     schemaLocation="{(SCHEMAS / "sitemap-news.xsd").as_uri()}"/>
        </xs:schema>"""
        _SITEMAP_SCHEMA = etree.XMLSchema(etree.fromstring(wrapper))
    return _SITEMAP_SCHEMA


def strict_html(content, url):
    """The page parsed by an HTML5 parser that stops at the first parse error."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    try:
        return parser.parse(content)
    except html5lib.html5parser.ParseError as error:
        raise AssertionError(f"{url}: HTML parse error {parser.errors[:3]}") from error


def squashed(text):
    # Typography adds no-break spaces and the page may wrap lines: compare the
    # characters that are not spaces.
    return re.sub(r"[\s\u00a0\u202f]+", "", text or "")


def publish(content):
    """Everything a reader can see, built through the ORM from ``content``."""
    section = Section.objects.create(
        name=content["section_name"],
        slug="rubrique-messy",
        description=content["section_description"],
    )
    author = Author.objects.create(
        name=content["author_name"], slug="auteur-messy", bio=content["author_bio"]
    )
    tag = Tag.objects.create(name=content["tag_name"], slug="sujet-messy")
    article = Article.objects.create(
        title=content["title"],
        slug="article-messy",
        standfirst=content["standfirst"],
        body=content["body"],
        hero_image=image_upload(),
        hero_image_alt=content["alt"],
        hero_image_caption=content["caption"],
        hero_image_credit=content["credit"],
        section=section,
        status=Article.Status.PUBLISHED,
        published_at=timezone.now() - timedelta(minutes=5),
    )
    article.authors.set([author])
    article.tags.set([tag])
    Correction.objects.create(article=article, text=content["correction"] or "Corrigé.")
    issue = Issue.objects.create(
        subject=content["subject"],
        introduction=content["introduction"],
        status=Issue.Status.SENT,
        finished_at=timezone.now(),
    )
    IssueArticle.objects.create(issue=issue, article=article)
    return article, issue


def check_every_output(article, issue, search=""):
    """Every public page and output that shows ``article`` or ``issue`` answers
    200 and parses; the texts come back as stored, less what the format cannot
    carry (which only a row written around the models still holds)."""
    cache.clear()
    client = Client()
    article.refresh_from_db()
    author, tag, section = article.authors.get(), article.tags.get(), article.section

    pages = [
        "/",
        section.get_absolute_url(),
        author.get_absolute_url(),
        tag.get_absolute_url(),
        article.get_absolute_url(),
        reverse("newsletter:archive"),
        issue.get_absolute_url(),
        reverse("articles:search") + "?q=" + quote(search.encode("utf-8", "surrogatepass")),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        document = strict_html(response.content, url)

    response = client.get(article.get_absolute_url())
    document = strict_html(response.content, "article")
    headline = document.find(".//h1")
    assert squashed("".join(headline.itertext())) == squashed(html_safe(article.title))
    (json_ld,) = [
        script.text
        for script in document.iter("script")
        if script.get("type") == "application/ld+json"
    ]
    data = json.loads(json_ld)
    assert data["headline"] == html_safe(article.title[:110])
    assert data["description"] == html_safe(article.standfirst)
    assert data["author"][0]["name"] == html_safe(author.name)
    assert data["keywords"] == [html_safe(tag.name)]

    for url in (reverse("articles:feed"), reverse("articles:section-feed", args=[section.slug])):
        response = client.get(url)
        assert response.status_code == 200, url
        feed = feedparser.parse(response.content)
        assert not feed.bozo, (url, feed.get("bozo_exception"))
        (entry,) = feed.entries
        # The title as written: feedparser "repairs" what looks like mojibake
        # (« Â¡ » becomes « ¡ »), so the text is read from the XML itself.
        (shown,) = etree.fromstring(response.content).xpath("//item/title/text()")
        # Titles go out HTML-escaped: a reader showing them as HTML shows the text.
        if entry.title_detail.type == "text/html":
            shown = html.unescape(shown)
        assert squashed(shown) == squashed(normalize_line(article.title))

    for url in ("/sitemap.xml", "/sitemap-news.xml"):
        response = client.get(url)
        assert response.status_code == 200, url
        tree = etree.fromstring(response.content)
        assert sitemap_schema().validate(tree), (url, sitemap_schema().error_log)
    news_title = tree.findtext(".//{http://www.google.com/schemas/sitemap-news/0.9}title")
    assert news_title == normalize_line(article.title)

    subscriber = make_subscriber()
    rendered = render_issue(issue)
    sent = issue_message(rendered, subscriber).message().as_bytes()
    parsed = message_from_bytes(sent, policy=policy.default)
    # A long encoded subject is folded after "Subject:"; unfolding leaves the
    # folding space, which is not part of the value (RFC 5322, 2.2.3).
    assert parsed["Subject"].lstrip() == normalize_line(issue.subject)
    assert not parsed.defects and not parsed["Subject"].defects
    text = parsed.get_body(("plain",)).get_content()
    assert squashed(article.title) in squashed(text)
    strict_html(parsed.get_body(("html",)).get_content(), "email")


def in_rollback(function):
    """Each example runs in a transaction that is rolled back, so examples do
    not see each other's rows."""

    def run(*args, **kwargs):
        with transaction.atomic():
            function(*args, **kwargs)
            transaction.set_rollback(True)

    return run


def spaced(normalize, value):
    """Published text as stored: normalised, given French spacing, normalised."""
    return normalize(french_spacing(normalize(value)))


@given(content=CONTENT, search=TEXT)
def test_any_text_saved_through_the_orm_gives_valid_outputs(content, search):
    """Text saved with the ORM is normalised, and every output of it is valid."""

    @in_rollback
    def run():
        article, issue = publish(content)
        # Published text is stored normalised, with French spacing.
        assert article.title == spaced(normalize_line, content["title"])
        assert article.standfirst == spaced(normalize_text, content["standfirst"])
        check_every_output(article, issue, search)

    run()


@given(content=CONTENT)
def test_any_text_written_around_the_model_gives_valid_outputs(content):
    """A raw UPDATE (an import, a psql session) stores text as it is, except what
    PostgreSQL itself refuses (NUL, lone surrogates); the outputs still hold."""

    def storable(value):
        return re.sub("[\x00\ud800-\udfff]", "", value)

    @in_rollback
    def run():
        article, issue = publish(dict.fromkeys(content, "Texte"))
        updates = [
            (
                "articles_section",
                article.section_id,
                {"name": "section_name", "description": "section_description"},
            ),
            (
                "articles_author",
                article.authors.get().pk,
                {"name": "author_name", "bio": "author_bio"},
            ),
            ("articles_tag", article.tags.get().pk, {"name": "tag_name"}),
            (
                "articles_article",
                article.pk,
                {
                    "title": "title",
                    "standfirst": "standfirst",
                    "body": "body",
                    "hero_image_alt": "alt",
                    "hero_image_caption": "caption",
                    "hero_image_credit": "credit",
                },
            ),
            ("newsletter_issue", issue.pk, {"subject": "subject", "introduction": "introduction"}),
        ]
        with connection.cursor() as cursor:
            for table, pk, columns in updates:
                assignments = ", ".join(f"{column} = %s" for column in columns)
                values = [storable(content[key]) for key in columns.values()]
                cursor.execute(f"UPDATE {table} SET {assignments} WHERE id = %s", [*values, pk])
            cursor.execute(
                "UPDATE articles_correction SET text = %s WHERE article_id = %s",
                [storable(content["correction"]), article.pk],
            )
        check_every_output(article, issue)

    run()


ARTICLE_FORM_FIELDS = {
    "title": line(200),
    "standfirst": st.one_of(TEXT, LONG),
    "body": TEXT,
    "hero_image_alt": TEXT,
    "hero_image_caption": TEXT,
    "hero_image_credit": TEXT,
}


def post_as_a_browser(client, url, data):
    """POST ``data`` form-encoded. Lone surrogates go out as the bytes a broken or
    hostile client sends (invalid UTF-8), which a browser cannot produce."""
    body = urlencode(
        [
            (key, value.encode("utf-8", "surrogatepass"))
            for key, values in data.items()
            for value in (values if isinstance(values, list) else [values])
            for value in [str(value)]
        ]
    )
    return client.post(url, body, content_type="application/x-www-form-urlencoded")


def as_received(value):
    """What Django reads of ``value`` sent by ``post_as_a_browser``."""
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


@given(fields=st.fixed_dictionaries(ARTICLE_FORM_FIELDS))
def test_any_text_typed_in_the_admin_is_saved_normalised_or_refused_with_a_message(fields):
    """The article form with any text either saves it normalised or shows the form
    again with a message: never a 500, never a half-saved article."""

    @in_rollback
    def run():
        client = Client()
        client.force_login(make_user(superuser=True))
        section = Section.objects.create(name="Rubrique", slug="rubrique-form")
        author = Author.objects.create(name="Plume", slug="plume-form")
        data = admin_article_data(section=section.pk, authors=[author.pk], **fields)
        response = post_as_a_browser(client, reverse("admin:articles_article_add"), data)
        assert response.status_code in (200, 302)
        if response.status_code == 302:
            article = Article.objects.get()
            title, standfirst = as_received(fields["title"]), as_received(fields["standfirst"])
            assert article.title == spaced(normalize_line, title)
            assert article.standfirst == spaced(normalize_text, standfirst)
            caption = as_received(fields["hero_image_caption"])
            assert article.hero_image_caption == spaced(normalize_line, caption)
            for name in ("hero_image_alt", "hero_image_credit"):
                assert getattr(article, name) == normalize_line(as_received(fields[name]))
            page = client.get(reverse("admin:articles_article_change", args=[article.pk]))
            assert page.status_code == 200
            strict_html(page.content, "admin change form")
        else:
            assert "errornote" in response.content.decode()
            assert not Article.objects.exists()

    run()


SMALL_FORMS = {
    "admin:articles_section_add": lambda text: {
        "name": text,
        "slug": "r",
        "position": "1",
        "description": text,
    },
    "admin:articles_author_add": lambda text: {"name": text, "slug": "a", "bio": text},
    "admin:articles_tag_add": lambda text: {"name": text, "slug": "t", "kind": "theme"},
    "admin:newsletter_issue_add": lambda text: {
        "subject": text,
        "introduction": text,
        "items_set-TOTAL_FORMS": "0",
        "items_set-INITIAL_FORMS": "0",
        "items_set-MIN_NUM_FORMS": "0",
        "items_set-MAX_NUM_FORMS": "1000",
    },
}


@given(text=TEXT, form=st.sampled_from(sorted(SMALL_FORMS)))
def test_the_other_admin_forms_take_any_text_without_failing(text, form):
    """Sections, authors, tags and newsletters: any text is saved normalised or
    refused with a message."""

    @in_rollback
    def run():
        client = Client()
        client.force_login(make_user(superuser=True))
        response = post_as_a_browser(client, reverse(form), SMALL_FORMS[form](text))
        assert response.status_code in (200, 302), response.status_code
        if response.status_code == 200:
            assert "errornote" in response.content.decode()

    run()


@given(value=st.one_of(TEXT, st.text(st.characters(exclude_categories=()))))
def test_normalising_is_idempotent_and_leaves_nothing_an_output_refuses(value):
    """Normalised text normalises to itself (forms and ``save()`` both apply it),
    holds no control character, surrogate or noncharacter, and passes unchanged
    through what HTML and XML outputs drop; a line holds no break or bidi override."""
    single, multi = normalize_line(value), normalize_text(value)
    assert normalize_line(single) == single and normalize_text(multi) == multi
    for text in (single, multi):
        assert html_safe(text) == text and xml_safe(text) == text
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]", text)
    assert not re.search("[\n\u202a-\u202e\u2066-\u2069]", single)


@given(value=st.one_of(TEXT, st.text(st.characters(exclude_categories=()))))
def test_the_quick_paths_give_what_the_long_ones_give(value):
    """drop_controls skips its substitutions when nothing needs them, fold
    translates only non-ASCII runs: both answer exactly what the full
    treatment answers, whatever the text."""
    assert drop_controls(value) == unicodedata.normalize(
        "NFC", _CONTROLS.sub("", _BREAKS.sub("\n", value))
    )
    assert fold(value) == value.translate(_PY_TABLE).lower()


@given(
    content=st.one_of(
        st.binary(),
        st.text(st.characters(exclude_categories=("Cs",))).map(str.encode),
    )
)
def test_pages_lose_what_the_pattern_of_refused_sequences_finds(content):
    """html_safe_bytes looks for the bytes a refused sequence starts with and
    checks only those: it drops exactly what one substitution of the whole
    pattern drops, on any bytes, UTF-8 or not."""
    assert html_safe_bytes(content) == _NOT_HTML_BYTES.sub(b"", content)


def test_every_byte_and_every_pair_of_bytes_lose_what_the_pattern_finds():
    """Each byte value, alone and followed by each byte value, then the same
    two bytes after a refused sequence's first two (\\xef\\xb7, \\xf4\\x8f):
    html_safe_bytes drops exactly what the whole pattern drops."""
    for first in range(256):
        for second in range(256):
            pair = bytes([first, second])
            for content in (pair, b"\xef\xb7" + pair, b"a\xf4\x8f" + pair + b"z"):
                assert html_safe_bytes(content) == _NOT_HTML_BYTES.sub(b"", content), content


def test_html_and_xml_drop_exactly_what_their_standards_refuse():
    """Over every code point: HTML loses controls other than whitespace and the
    noncharacters; XML also loses form feed; everything else is kept."""
    noncharacters = set(range(0xFDD0, 0xFDF0)) | {
        plane * 0x10000 + last for plane in range(17) for last in (0xFFFE, 0xFFFF)
    }
    controls = (set(range(0x00, 0x20)) - {0x09, 0x0A, 0x0C, 0x0D}) | set(range(0x7F, 0xA0))
    every = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
    text = "".join(map(chr, every))
    kept_by_html = {ord(ch) for ch in html_safe(text)}
    kept_by_xml = {ord(ch) for ch in xml_safe(text)}
    assert kept_by_html == set(every) - controls - noncharacters
    assert kept_by_xml == kept_by_html - {0x0C}


# Examples Hypothesis found, kept as regular tests ---------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "Titre\x0bavec saut Word",
        "\u202eeteR ednoM",
        "e\u0301té ]]> </script>",
        "\ud800 surrogat seul",
        "Â¡ (UTF-8 lu en Latin-1)",
    ],
)
def test_found_examples_give_valid_outputs(value):
    """Values that once broke an output (or nearly did), checked every run."""

    @in_rollback
    def run():
        content = dict.fromkeys(CONTENT_FIELDS, value)
        article, issue = publish(content)
        check_every_output(article, issue, value)

    run()
