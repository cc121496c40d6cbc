"""End-to-end tests: Debian's Chromium driven by Playwright against a live server."""

import os

import pytest

from articles.models import Tag
from tests.factories import image_upload, make_article, make_author, make_section
from tests.tools import BROWSER_ARGS, CHROMIUM, require_chromium

# Playwright's synchronous API runs an event loop in the test's thread; Django's
# ORM refuses to run beside one unless told it is safe (it is: one thread here).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser(django_db_setup):
    require_chromium()
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Django keeps connections per context; once Playwright's event loop runs, the
    # tests get new connection objects, which lack the test database's snapshot
    # that serialized_rollback restores. Hand the snapshot over.
    snapshots = {
        alias: connections[alias]._test_serialized_contents
        for alias in connections
        if hasattr(connections[alias], "_test_serialized_contents")
    }
    with sync_playwright() as playwright:
        for alias, snapshot in snapshots.items():
            connections[alias]._test_serialized_contents = snapshot
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=BROWSER_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, transactional_db):
    context = browser.new_context(base_url=live_server.url, locale="fr-FR")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors, refused = [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # What the Content-Security-Policy blocked, as Chromium reports it.
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.csp_refusals = refused
    yield page
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"
    if not getattr(page, "csp_refusals_expected", False):
        assert refused == [], f"Blocked by the Content-Security-Policy: {refused}"


@pytest.fixture
def site(transactional_db):
    """A small site: two sections, tagged and illustrated articles."""
    diplomacy = make_section(
        name="Diplomatie",
        slug="diplomatie",
        position=1,
        description="Les relations entre États de la région.",
    )
    economy = make_section(name="Économie", slug="economie", position=2)
    author = make_author(name="Aïgerim Seitkali", slug="aigerim-seitkali")
    kyrgyzstan = Tag.objects.create(name="Kirghizistan", slug="kirghizistan")
    articles = [
        make_article(
            section=diplomacy,
            authors=[author],
            title="À Astana, le Kazakhstan et le Kirghizistan renforcent leurs échanges",
            slug="astana-echanges",
            standfirst="Les présidents Tokaïev et Japarov visent 2 milliards de dollars.",
            body=(
                "<p>Les échanges ont atteint 1,5 milliard de dollars en 2023.</p>"
                "<h2>Un pôle logistique</h2><p>Un hub à la frontière.</p>"
                "<h2>L’agriculture</h2><p>En hausse de 10 % à 300 millions de dollars.</p>"
            ),
            hero_image=image_upload(width=1200, height=750),
            hero_image_alt="Deux présidents se serrent la main",
            hero_image_caption="Kassym-Jomart Tokaïev et Sadyr Japarov à Astana",
            is_featured=True,
        ),
        make_article(
            section=economy,
            authors=[author],
            title="Le som kirghiz se stabilise",
            slug="som-stable",
            hero_image=image_upload(width=900, height=600),
            hero_image_alt="Des billets de banque",
        ),
        make_article(section=economy, title="Le coton ouzbek se réinvente", slug="coton"),
    ]
    for article in articles[:2]:
        article.tags.add(kyrgyzstan)
    return {"sections": [diplomacy, economy], "articles": articles, "author": author}
