import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from newsletter.models import Subscriber

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_reader_goes_from_home_to_a_section_to_an_article_and_signs_up(page, site):
    """A reader opens the home page, a section, an article, and subscribes."""
    page.goto("/")
    expect(page.get_by_role("heading", name="À la une")).to_be_visible()
    page.get_by_role("navigation", name="Rubriques").get_by_role("link", name="Économie").click()
    expect(page).to_have_url(re.compile(r"/rubrique/economie/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Économie")
    page.get_by_role("link", name="Le som kirghiz se stabilise").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Le som kirghiz se stabilise")
    expect(
        page.get_by_text("Pour rester informé des actualités de l’Asie centrale")
    ).to_be_visible()

    page.get_by_label("Votre adresse e-mail").fill("lectrice@exemple.kz")
    page.get_by_role("button", name="S’inscrire").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Vérifiez votre boîte e-mail")
    subscriber = Subscriber.objects.get()
    assert subscriber.email == "lectrice@exemple.kz"
    assert subscriber.source == "/article/som-stable/"
    assert len(mail.outbox) == 1


def test_reader_searches_with_another_spelling(page, site):
    """Searching « kyrgyzstan » from the header finds articles that say « Kirghizistan »."""
    page.goto("/")
    page.get_by_role("searchbox", name="Rechercher un article").fill("kyrgyzstan échange")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/recherche/\?q=kyrgyzstan"))
    results = page.locator(".search-result")
    expect(results).to_have_count(1)
    expect(results.first.locator("h2 a")).to_contain_text("Kirghizistan")
    expect(results.first.locator("mark").first).to_be_visible()


def test_signup_with_a_bad_address_shows_the_message_by_the_field(page, site):
    """A mistyped address is refused next to the field, and what was typed stays."""
    page.goto("/article/astana-echanges/")
    page.get_by_label("Votre adresse e-mail").fill("lectrice@exemple")
    page.get_by_role("button", name="S’inscrire").click()
    expect(page.locator("#email-error")).to_contain_text("n’est pas valide")
    expect(page.get_by_label("Votre adresse e-mail")).to_have_value("lectrice@exemple")
    assert not Subscriber.objects.exists()


def test_skip_link_and_keyboard_navigation(page, site):
    """The first Tab reaches the skip link, which moves focus to the content;
    the signup form works with the keyboard alone."""
    page.goto("/article/astana-echanges/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Aller au contenu")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "contenu"

    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "email":
            break
    else:
        pytest.fail("The newsletter field cannot be reached with Tab")
    page.keyboard.type("clavier@exemple.fr")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Vérifiez votre boîte e-mail")


def test_images_are_responsive_and_load(page, site):
    """The article's hero image loads from the site in WebP, at a width that fits."""
    page.set_viewport_size({"width": 400, "height": 900})
    page.goto("/article/astana-echanges/")
    hero = page.locator(".article__hero img")
    expect(hero).to_be_visible()
    page.wait_for_function("document.querySelector('.article__hero img').complete")
    current = hero.evaluate("img => img.currentSrc")
    assert current.endswith(".webp") and "/media/renditions/" in current
    assert hero.evaluate("img => img.naturalWidth") <= 1200
