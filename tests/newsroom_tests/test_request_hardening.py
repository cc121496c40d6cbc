"""What any client may send: HEAD on every public page, oversized bodies, NUL
characters and impossible filter values in the admin; and what production
refuses to run with."""

import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from pytest_django.asserts import assertContains, assertRedirects

from articles.models import PreviewLink, Tag
from newsletter.models import Issue, SignupRequest
from tests.factories import make_article, make_subscriber
from tests.newsroom_tests.test_site import _import_production_settings

pytestmark = pytest.mark.django_db


def public_urls():
    article = make_article()
    author = article.authors.get()
    draft = make_article(published=False)
    link = PreviewLink.objects.create(article=draft)
    issue = Issue.objects.create(subject="Numéro", status=Issue.Status.SENT)
    subscriber = make_subscriber()
    tag = Tag.objects.create(name="Kazakhstan", slug="kazakhstan")
    article.tags.add(tag)
    return [
        "/",
        article.section.get_absolute_url(),
        reverse("articles:section-feed", args=[article.section.slug]),
        author.get_absolute_url(),
        tag.get_absolute_url(),
        article.get_absolute_url(),
        reverse("articles:search") + "?q=article",
        reverse("articles:feed"),
        reverse("articles:shared-preview", args=[link.token]),
        "/sitemap.xml",
        "/sitemap-news.xml",
        "/robots.txt",
        "/favicon.ico",
        reverse("newsletter:subscribe"),
        reverse("newsletter:subscribe-done"),
        reverse("newsletter:archive"),
        issue.newsletter.get_absolute_url(),
        issue.get_absolute_url(),
        reverse("newsletter:confirm", args=[subscriber.make_token("confirm")]),
        reverse("newsletter:unsubscribe", args=[subscriber.make_token("unsubscribe")]),
        reverse("newsletter:preferences", args=[subscriber.make_token("preferences")]),
    ]


def test_head_answers_wherever_get_does(client):
    """Link checkers, uptime monitors and caches send HEAD: every public page
    answers it as it answers GET, with no body."""
    for url in public_urls():
        got = client.get(url)
        head = client.head(url)
        assert got.status_code == (301 if url == "/favicon.ico" else 200), url
        assert head.status_code == got.status_code, url
        assert head.content == b"", url
        assert head.get("Content-Type") == got.get("Content-Type"), url


def test_head_on_a_confirmation_link_confirms_nothing(client):
    """HEAD, like GET, only shows the page: nobody is subscribed by a prefetch."""
    subscriber = make_subscriber()
    client.head(reverse("newsletter:confirm", args=[subscriber.make_token("confirm")]))
    subscriber.refresh_from_db()
    assert subscriber.status == subscriber.Status.PENDING


def test_an_oversized_anonymous_body_is_refused_before_it_is_read(client, settings):
    """A large anonymous POST gets a 413 page at once: the view never runs and
    nothing is spooled or stored."""
    body = b"email=gros%40exemple.fr&x=" + b"a" * (settings.PUBLIC_REQUEST_MAX_BYTES + 1)
    response = client.post(
        reverse("newsletter:subscribe"), body, content_type="application/x-www-form-urlencoded"
    )
    assertContains(response, "Envoi trop volumineux", status_code=413)
    assertContains(response, "64", status_code=413)  # the limit, in words a reader reads
    assert response["Cache-Control"] == "no-store"
    assert not SignupRequest.objects.exists()


def test_staff_pages_accept_image_sized_bodies(admin_client, settings):
    """The admin takes uploads: a body over the public cap but under the staff one
    reaches the admin (which answers as usual)."""
    padding = "a" * (settings.PUBLIC_REQUEST_MAX_BYTES * 2)
    response = admin_client.post(
        reverse("admin:articles_tag_add"),
        {"name": "Ouzbékistan", "slug": "ouzbekistan", "kind": "country", "padding": padding},
    )
    assertRedirects(response, reverse("admin:articles_tag_changelist"))


def test_a_nul_in_a_public_query_is_dropped(client):
    """A NUL in a search is the same search without it, not a 500."""
    make_article(title="Les steppes du Kazakhstan")
    response = client.get(reverse("articles:search"), {"q": "step\x00pes"})
    assertContains(response, "Les steppes du Kazakhstan")


def test_admin_autocomplete_with_a_nul_answers(admin_client):
    """The author autocomplete with ``term=%00`` answers 200, not a 500."""
    make_article()
    response = admin_client.get(
        "/admin/autocomplete/?term=%00&app_label=articles&model_name=article&field_name=authors"
    )
    assert response.status_code == 200
    assert "results" in response.json()


@pytest.mark.parametrize(
    "query",
    [
        "published_at__year=9999",
        "published_at__year=99999999999999999999",
        "published_at__month=13&published_at__year=2026",
        "published_at__day=0&published_at__month=1&published_at__year=2026",
    ],
)
def test_an_impossible_admin_date_filter_gives_a_message(admin_client, query):
    """A date filter Django cannot turn into a query sends to the list unfiltered
    (Django's ``?e=1``) with a message, never a 500."""
    make_article()
    changelist = reverse("admin:articles_article_changelist")
    response = admin_client.get(changelist + "?" + query, follow=True)
    assertRedirects(response, changelist + "?e=1")
    assertContains(response, "Ce filtre n’est pas valide")


def test_odd_tokens_and_version_numbers_never_error(client, admin_client):
    """A NUL in a preview token, or a superscript digit as a version, is just unknown."""
    assert client.get("/apercu/%00/").status_code == 404
    article = make_article()
    url = reverse("admin:articles_article_revisions", args=[article.pk])
    assert admin_client.get(url, {"depuis": "²"}).status_code == 200


def test_production_refuses_a_weak_secret_key():
    """A short, repetitive or Django-generated insecure key stops production."""
    for weak in ["x", "a" * 60, "django-insecure-" + "k3y-" * 15]:
        started = _import_production_settings(
            DJANGO_SECRET_KEY=weak, DJANGO_ALLOWED_HOSTS="example.org"
        )
        assert started.returncode != 0, weak
        assert "DJANGO_SECRET_KEY" in started.stderr


def test_ckeditor_sample_pages_are_not_collected(tmp_path):
    """collectstatic leaves out CKEditor's HTML samples and test pages, but keeps the
    editor itself."""
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--dry-run", "-v", "2"],
        capture_output=True,
        text=True,
        cwd=django_settings.BASE_DIR,
        # An empty STATIC_ROOT: files collected before would be « skipped », not listed.
        env={**os.environ, "NEWSROOM_VAR_DIR": str(tmp_path)},
    )
    assert collected.returncode == 0, collected.stderr
    paths = [line for line in collected.stdout.splitlines() if "ckeditor" in line]
    assert any(line.rstrip("'").endswith("ckeditor/ckeditor/ckeditor.js") for line in paths)
    assert not [line for line in paths if ".html" in line or "/samples/" in line]


def _policy(response):
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        directives[name] = set(values)
    return directives


def test_public_pages_have_a_strict_content_security_policy(client):
    """No inline script or style, nothing from another host, no plugins, no
    <base> rewriting; no framing at all."""
    for url in public_urls():
        policy = _policy(client.get(url))
        assert policy["default-src"] == {"'self'"}, url
        assert policy["script-src"] == {"'self'"} and policy["style-src"] == {"'self'"}, url
        assert policy["object-src"] == {"'none'"} and policy["base-uri"] == {"'none'"}, url
        assert policy["frame-ancestors"] == {"'none'"}, url


def test_the_policy_follows_its_setting_and_the_admin_keeps_its_own(
    client, admin_client, settings
):
    """The headers are built once per policy, not once per process: a changed
    setting is the next page's policy, and public and staff pages never share
    one."""
    first = _policy(client.get("/"))
    assert "https://maps.example.org" not in first["img-src"]
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {**directives, "img-src": ["'self'", "https://maps.example.org"]}
    }
    assert "https://maps.example.org" in _policy(client.get("/rubrique/inconnue/"))["img-src"]
    staff = _policy(admin_client.get(reverse("admin:articles_article_add")))
    assert "'unsafe-inline'" in staff["script-src"]
    assert "'unsafe-inline'" not in _policy(client.get("/recherche/"))["script-src"]


def test_the_admin_policy_lets_the_editor_work_and_still_loads_nothing_foreign(admin_client):
    """The admin allows inline scripts and styles (CKEditor 4) but no other host."""
    policy = _policy(admin_client.get(reverse("admin:articles_article_add")))
    assert "'unsafe-inline'" in policy["script-src"] and "'unsafe-inline'" in policy["style-src"]
    every_source = set().union(*policy.values())
    assert not [source for source in every_source if "." in source or source == "*"]
