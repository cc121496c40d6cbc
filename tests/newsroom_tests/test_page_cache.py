"""The full-page cache: anonymous pages served before any view runs, never
older than the content they show (newsroom.pagecache)."""

import gzip
import os
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta

import psycopg2
import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from articles.models import Article, Correction, Section, SpellingVariantGroup, Tag
from newsletter.models import Issue, IssueArticle
from newsroom.embedded_database import url_of
from newsroom.pagecache import page_cache
from tests.conftest import free_port, wait_for_http
from tests.factories import make_article, make_user

pytestmark = pytest.mark.django_db


def test_a_second_anonymous_request_is_served_before_any_view(client, django_assert_num_queries):
    """The first reader's request renders the page; the next one is the stored
    page, byte for byte, for one query (the content clock)."""
    article = make_article(title="Le barrage de Rogun")
    first = client.get(article.get_absolute_url())
    assert first["X-Page-Cache"] == "miss"
    with django_assert_num_queries(1):
        second = client.get(article.get_absolute_url())
    assert second["X-Page-Cache"] == "hit"
    assert second.content == first.content
    assert second["ETag"] == first["ETag"]
    assert "public" in second["Cache-Control"]
    assert not second.cookies
    assert second["X-Request-ID"] != first["X-Request-ID"]


def test_head_and_conditional_requests_are_answered_from_the_cache(client):
    """HEAD gets the stored headers (ETag included) without a body; a client
    holding the current copy gets a 304."""
    article = make_article()
    etag = client.get(article.get_absolute_url())["ETag"]
    head = client.head(article.get_absolute_url())
    assert head["X-Page-Cache"] == "hit"
    assert head["ETag"] == etag
    assert head.content == b""
    not_modified = client.get(article.get_absolute_url(), HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304
    assert not_modified["X-Page-Cache"] == "hit"


def test_a_head_that_misses_the_cache_answers_as_the_get_would(client):
    """A HEAD that finds nothing stored renders and stores the page, and
    answers the headers a GET gets: the same validators (a monitor's HEAD and
    a browser's GET agree), Vary, lengths and lifetimes; a conditional HEAD
    gets a 304."""
    url = make_article().get_absolute_url()
    head = client.head(url, HTTP_ACCEPT_ENCODING="gzip")
    assert head["X-Page-Cache"] == "miss" and head.content == b""
    got = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert got["X-Page-Cache"] == "hit"  # stored by the HEAD
    for name in ("ETag", "Last-Modified", "Cache-Control", "Vary", "Content-Encoding"):
        assert head[name] == got[name], name
    assert head["Content-Length"] == got["Content-Length"] == str(len(got.content))
    again = client.head(url, HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=got["ETag"])
    assert again.status_code == 304


@override_settings(PAGE_CACHE_ENABLED=False)
def test_without_the_page_cache_head_has_the_gets_validator(client):
    """With the page cache off, HEAD still gets a strong ETag (Django's own
    middleware gives HEAD none), the GET's for the same page, and a 304 when
    the client holds it. (An article's page is rendered anew each time: its
    newsletter form carries the moment it was shown. A section's is not.)"""
    article = make_article()
    head = client.head(article.get_absolute_url())
    assert "X-Page-Cache" not in head and head.content == b""
    assert head["ETag"].startswith('"') and head["Last-Modified"]
    assert "public" in head["Cache-Control"]
    url = article.section.get_absolute_url()
    got = client.get(url)
    head = client.head(url)
    assert head["ETag"] == got["ETag"] and head.content == b""
    assert client.head(url, HTTP_IF_NONE_MATCH=got["ETag"]).status_code == 304
    assert client.head(url, HTTP_IF_NONE_MATCH='"autre"').status_code == 200


def test_staff_posts_and_private_pages_never_touch_the_page_cache(client):
    """Logged-in staff, POSTs, previews and the health page are neither served
    from nor stored in the page cache."""
    article = make_article()
    client.get(article.get_absolute_url())
    staff = make_user(superuser=True)
    client.force_login(staff)
    page = client.get(article.get_absolute_url())
    assert "X-Page-Cache" not in page
    assert "private" in page["Cache-Control"]
    client.logout()
    posted = client.post(reverse("newsletter:subscribe"), {"email": "x@exemple.fr"})
    assert "X-Page-Cache" not in posted
    for path in ("/sante/", "/admin/login/"):
        assert "X-Page-Cache" not in client.get(path)


def _edit_title(article, title):
    article.title = title
    article.save()


def _update_title(article, title):
    Article.objects.filter(pk=article.pk).update(title=title)


def _raw_sql_title(article, title):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE articles_article SET title = %s WHERE id = %s", [title, article.pk])


@pytest.mark.parametrize("write", [_edit_title, _update_title, _raw_sql_title])
def test_an_edit_is_seen_by_the_next_reader_whatever_wrote_it(client, write):
    """save(), a queryset update() and raw SQL: the next request shows the new
    title on the article, the home page and its section."""
    article = make_article(title="Ancien titre")
    pages = ["/", article.get_absolute_url(), article.section.get_absolute_url(), "/feed/"]
    for url in pages:
        assert "Ancien titre" in client.get(url).content.decode()
        assert client.get(url)["X-Page-Cache"] == "hit"
    write(article, "Nouveau titre")
    for url in pages:
        content = client.get(url).content.decode()
        assert "Nouveau titre" in content and "Ancien titre" not in content, url


def test_renaming_a_section_changes_the_menu_of_every_page_at_once(client):
    """The menu is on every page: a rename shows on pages already cached."""
    article = make_article()
    section = article.section
    assert section.name in client.get(article.get_absolute_url()).content.decode()
    Section.objects.filter(pk=section.pk).update(name="Rubrique renommée")
    assert "Rubrique renommée" in client.get(article.get_absolute_url()).content.decode()
    assert "Rubrique renommée" in client.get("/recherche/").content.decode()


def test_corrections_tags_variants_unpublishing_and_the_archive_are_seen_at_once(client):
    """Every content table advances the clock: corrections, tags, spelling
    variants, unpublishing, deleting, and a newsletter issue being sent."""
    article = make_article(title="Frounzé autrefois", body="<p>Frounzé.</p>")
    tag = Tag.objects.create(name="Eau", slug="eau")
    article.tags.add(tag)
    url = article.get_absolute_url()
    client.get(url)
    Correction.objects.create(article=article, text="Une date était fausse.")
    assert "Une date était fausse." in client.get(url).content.decode()
    client.get(tag.get_absolute_url())
    Tag.objects.filter(pk=tag.pk).update(name="Ressources en eau")
    assert "Ressources en eau" in client.get(tag.get_absolute_url()).content.decode()
    search = client.get("/recherche/", {"q": "Frunze"}).context["page"]
    assert search.paginator.count == 0
    SpellingVariantGroup.objects.create(spellings="Frounzé, Frunze")
    assert client.get("/recherche/", {"q": "Frunze"}).context["page"].paginator.count == 1
    issue = Issue.objects.create(subject="Le numéro de la semaine")
    IssueArticle.objects.create(issue=issue, article=article)
    assert "Le numéro de la semaine" not in client.get("/newsletter/archives/").content.decode()
    Issue.objects.filter(pk=issue.pk).update(status=Issue.Status.SENT, finished_at=timezone.now())
    assert "Le numéro de la semaine" in client.get("/newsletter/archives/").content.decode()
    Article.objects.filter(pk=article.pk).update(status=Article.Status.DRAFT)
    assert client.get(url).status_code == 404
    assert "Frounzé autrefois" not in client.get("/").content.decode()
    Article.objects.filter(pk=article.pk).delete()
    assert client.get(url).status_code == 404


def test_a_scheduled_article_appears_at_its_time_and_not_before(client):
    """No cron and no write: the page stored before the publication time is
    kept only until that time, and no copy is allowed to live longer."""
    make_article(title="Déjà en ligne")
    publish_at = timezone.now() + timedelta(seconds=2)
    make_article(title="Article programmé", published_at=publish_at)
    before = client.get("/")
    assert "Article programmé" not in before.content.decode()
    assert client.get("/")["X-Page-Cache"] == "hit"
    assert "s-maxage=1" in before["Cache-Control"] or "s-maxage=2" in before["Cache-Control"]
    while timezone.now() < publish_at:
        time.sleep(0.05)
    after = client.get("/")
    assert after["X-Page-Cache"] == "miss"
    assert "Article programmé" in after.content.decode()


def test_a_flood_of_made_up_parameters_is_one_page(client, django_assert_num_queries):
    """?utm_…, ?x=… and other parameters no page reads are dropped before the
    view runs: one render, one stored page; the page number still counts."""
    for number in range(3):
        make_article(title=f"Article {number}")
    assert client.get("/?utm_source=1")["X-Page-Cache"] == "miss"
    for number in range(2, 40):
        with django_assert_num_queries(1):
            response = client.get(f"/?utm_source={number}&x={number}")
        assert response["X-Page-Cache"] == "hit"
    assert "utm_source" not in response.content.decode()
    assert client.get("/?page=1&utm=2")["X-Page-Cache"] == "miss"
    assert client.get("/?utm=3&page=1")["X-Page-Cache"] == "hit"


def test_pages_are_kept_gzipped_and_sent_so_to_clients_that_take_gzip(client):
    """Browsers, CDNs and Varnish ask for gzip and get the stored bytes as they
    are, under their own strong validator; a client that does not is sent the
    page unpacked, the same page byte for byte."""
    article = make_article(title="Le barrage de Rogun")
    url = article.get_absolute_url()
    plain = client.get(url)
    packed = client.get(url, HTTP_ACCEPT_ENCODING="br, gzip;q=0.8")
    assert packed["X-Page-Cache"] == "hit" and packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content) == plain.content
    assert len(packed.content) * 2 < len(plain.content)
    assert int(packed["Content-Length"]) == len(packed.content)
    assert "Accept-Encoding" in packed["Vary"] and "Accept-Encoding" in plain["Vary"]
    assert packed["ETag"] != plain["ETag"] and packed["ETag"].endswith('-gzip"')
    again = client.get(url)
    assert again["X-Page-Cache"] == "hit" and not again.has_header("Content-Encoding")
    assert again.content == plain.content and again["ETag"] == plain["ETag"]
    refused = client.get(url, HTTP_ACCEPT_ENCODING="gzip;q=0, identity")
    assert not refused.has_header("Content-Encoding") and refused.content == plain.content
    head = client.head(url, HTTP_ACCEPT_ENCODING="gzip")
    assert head.content == b"" and head["Content-Length"] == packed["Content-Length"]
    # Each representation answers its own validator.
    assert (
        client.get(url, HTTP_IF_NONE_MATCH=packed["ETag"], HTTP_ACCEPT_ENCODING="gzip").status_code
        == 304
    )
    assert (
        client.get(url, HTTP_IF_NONE_MATCH=plain["ETag"], HTTP_ACCEPT_ENCODING="gzip").status_code
        == 200
    )
    assert client.get(url, HTTP_IF_NONE_MATCH=plain["ETag"]).status_code == 304


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_connection_the_database_dropped_is_replaced_before_the_page(client):
    """The page cache skips Django's « SELECT 1 » health check: its own first
    query, the content clock, is tried again on a new connection when the kept
    one is dead (PostgreSQL restarted, a failover, an idle timeout)."""
    make_article(title="Le barrage de Rogun")
    assert client.get("/").status_code == 200
    assert connection.connection is not None
    dead_pid = connection.connection.get_backend_pid()
    other = psycopg2.connect(**connection.get_connection_params())
    try:
        other.autocommit = True
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [dead_pid])
            for _ in range(100):
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [dead_pid])
                if cursor.fetchone()[0] == 0:
                    break
                time.sleep(0.02)
    finally:
        other.close()
    response = client.get("/")
    assert response.status_code == 200 and response["X-Page-Cache"] == "hit"
    assert connection.connection.get_backend_pid() != dead_pid


def test_the_page_cache_is_bounded(client, settings, monkeypatch):
    """A page larger than PAGE_CACHE_MAX_BYTES is not stored; the memory cache
    keeps at most PAGE_CACHE_MAX_ENTRIES pages, whatever is asked."""
    cache = page_cache()
    assert cache._max_entries == settings.PAGE_CACHE_MAX_ENTRIES
    monkeypatch.setattr(cache, "_max_entries", 10)
    for number in range(30):
        client.get("/recherche/", {"q": f"mot{number}"})
    assert len(cache._cache) <= 10
    settings.PAGE_CACHE_MAX_BYTES = 100
    article = make_article()
    client.get(article.get_absolute_url())
    assert client.get(article.get_absolute_url())["X-Page-Cache"] == "miss"


def _start_server(port):
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "newsroom.settings.development",
        "DATABASE_URL": url_of(connection.settings_dict),
        "SITE_URL": f"http://127.0.0.1:{port}",
    }
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=settings.BASE_DIR,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_http(f"http://127.0.0.1:{port}/robots.txt", server)
    return server


def _read(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return response.headers["X-Page-Cache"], response.read().decode()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_edit_is_seen_at_once_through_two_other_server_processes():
    """Two servers, each with its own memory cache, have the page cached; an
    edit made here (another process) shows on both at the next request."""
    connection.ensure_connection()
    article = make_article(title="Version d’origine", slug="deux-serveurs")
    ports = [free_port(), free_port()]
    servers = [_start_server(port) for port in ports]
    try:
        for port in ports:
            _read(port, article.get_absolute_url())
            outcome, content = _read(port, article.get_absolute_url())
            assert outcome == "hit" and "Version d’origine" in content
        Article.objects.filter(pk=article.pk).update(title="Version corrigée")
        for port in ports:
            outcome, content = _read(port, article.get_absolute_url())
            assert "Version corrigée" in content and "Version d’origine" not in content
            assert outcome == "miss"
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)
