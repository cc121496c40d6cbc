"""Anonymous public pages can be kept by browsers and shared caches: no cookie,
no Vary on cookies or language, Cache-Control public with short lifetimes, a
strong ETag and 304s. What belongs to one person never enters a cache. The
newsletter form works on those pages without a CSRF cookie."""

import pytest
from django.test import Client
from django.urls import reverse

from newsletter.models import SignupRequest, Subscriber
from tests.factories import make_article, make_user, signup_data
from tests.newsroom_tests.test_request_hardening import public_urls

pytestmark = pytest.mark.django_db
PRIVATE = (
    "/apercu/",
    "/newsletter/confirmation/",
    "/newsletter/desinscription/",
    "/newsletter/preferences/",
)


def directives(response):
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part}


def is_private(response):
    return {"private", "no-store"} <= directives(response) and "public" not in directives(response)


def test_every_public_page_is_cacheable_by_anyone(client, settings):
    """No cookie, no Vary: Cookie or Accept-Language; public, short max-age, longer
    s-maxage, stale-while-revalidate and stale-if-error; strong ETag; Last-Modified."""
    # Pages with « Les plus lus » are kept only until the list's next refresh
    # (tested in test_most_read): with the usual ten minutes, a run within 30 s
    # of a refresh would see a shorter max-age. Put the next refresh years away.
    settings.MOST_READ_REFRESH_SECONDS = 10**9
    for url in public_urls():
        response = client.get(url)
        if url.startswith(PRIVATE):
            assert is_private(response), url
            continue
        assert not response.cookies, url
        vary = response.get("Vary", "").lower()
        assert "cookie" not in vary and "accept-language" not in vary, (url, vary)
        assert {
            "public",
            "max-age=30",
            "s-maxage=60",
            "stale-while-revalidate=30",
            "stale-if-error=86400",
        } <= directives(response), url
        if response.status_code == 200:
            assert response["ETag"].startswith('"') and len(response["ETag"]) > 10, url
        assert response.has_header("Last-Modified"), url


def test_a_copy_that_is_current_gets_a_304_and_a_changed_page_does_not(client):
    """If-None-Match with the page's ETag: 304 and no body. Once an article on it
    changes, the old ETag gets the new page."""
    article = make_article(title="Version une")
    for url in ("/", article.section.get_absolute_url(), reverse("articles:feed")):
        etag = client.get(url)["ETag"]
        again = client.get(url, HTTP_IF_NONE_MATCH=etag)
        assert again.status_code == 304 and again.content == b"", url
    etag = client.get("/")["ETag"]
    article.title = "Version deux"
    article.save()
    changed = client.get("/", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and "Version deux" in changed.content.decode()
    assert changed["ETag"] != etag


def test_an_old_copy_is_never_declared_current_by_its_date(client):
    """If-Modified-Since a date before the page was made: the page, not a 304."""
    article = make_article()
    response = client.get(
        article.get_absolute_url(), HTTP_IF_MODIFIED_SINCE="Mon, 01 Jan 2024 00:00:00 GMT"
    )
    assert response.status_code == 200


def test_staff_pages_and_the_admin_never_enter_a_cache():
    """With a session (staff), public pages too are private, no-store."""
    article = make_article()
    staff = Client()
    staff.force_login(make_user(superuser=True))
    for url in ("/", article.get_absolute_url(), reverse("admin:index")):
        assert is_private(staff.get(url)), url


def test_form_errors_and_posts_are_private(client):
    """A form with errors shows what the reader typed: private, no-store; so is
    every answer to a POST."""
    errors = client.post(reverse("newsletter:subscribe"), signup_data("pas-une-adresse"))
    assert errors.status_code == 400 and is_private(errors)
    done = client.post(reverse("newsletter:subscribe"), signup_data("lectrice@exemple.fr"))
    assert done.status_code == 302 and is_private(done)


@pytest.mark.parametrize(
    "headers, accepted",
    [
        ({"HTTP_SEC_FETCH_SITE": "same-origin", "HTTP_ORIGIN": "http://testserver"}, True),
        ({"HTTP_ORIGIN": "http://testserver"}, True),
        ({"HTTP_REFERER": "http://testserver/article/x/"}, True),
        ({"HTTP_SEC_FETCH_SITE": "cross-site", "HTTP_ORIGIN": "https://evil.example"}, False),
        ({"HTTP_SEC_FETCH_SITE": "same-site", "HTTP_ORIGIN": "http://sub.testserver"}, False),
        ({"HTTP_ORIGIN": "https://evil.example"}, False),
        ({"HTTP_ORIGIN": "null"}, False),
        ({"HTTP_REFERER": "https://evil.example/page"}, False),
        ({"HTTP_ORIGIN": "http://[::1"}, False),  # unparsable: refused, not a 500
        ({}, False),
    ],
)
def test_the_signup_form_works_without_a_csrf_cookie_but_not_from_another_site(headers, accepted):
    """A browser on a cached article page (no cookie) signs up; a post from another
    site, or with no sign of where it comes from, gets the expired-form page and
    nothing is stored."""
    browser = Client(enforce_csrf_checks=True)
    article = make_article()
    page = browser.get(article.get_absolute_url())
    assert not page.cookies and 'name="csrfmiddlewaretoken"' not in page.content.decode()
    response = browser.post(
        reverse("newsletter:subscribe"), signup_data("origine@exemple.fr"), **headers
    )
    if accepted:
        assert response.status_code == 302
        assert Subscriber.objects.filter(email="origine@exemple.fr").exists()
    else:
        assert response.status_code == 403
        assert "Le formulaire a expiré" in response.content.decode()
        assert not SignupRequest.objects.exists() and not Subscriber.objects.exists()
