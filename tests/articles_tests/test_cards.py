"""Article cards are placed once per set of values (newsroom.jinja._macro with
``remembered``): the same values give the same markup, other values other
markup, with nothing to invalidate."""

import pytest
from django.template import engines
from django.utils import timezone, translation
from markupsafe import Markup

from articles.models import latest_cards
from articles.presentation import french_date
from newsroom import jinja
from tests.factories import image_upload, make_article

pytestmark = pytest.mark.django_db


@pytest.fixture
def remembered():
    jinja._rendered.clear()
    yield jinja._rendered
    jinja._rendered.clear()


def card_of(article, **options):
    template = engines["jinja"].from_string("{{ article_card(article, show_section=True) }}")
    return template.render({"article": article, **options})


def test_a_card_is_placed_again_from_its_values_and_changes_with_them(remembered):
    """Reading the same card twice places it once; an edited title, a renamed
    section, another time zone give new markup (never the kept one)."""
    article = make_article(title="Le barrage de Rogun", hero_image=image_upload())
    [card] = latest_cards(1)
    first = card_of(card)
    assert "Le barrage de Rogun" in first and "<picture>" in first
    assert card_of(latest_cards(1)[0]) == first and len(remembered) == 1

    article.title = "Le barrage de Rogun & la crue"
    article.save()
    edited = card_of(latest_cards(1)[0])
    assert "Le barrage de Rogun &amp; la crue" in edited and len(remembered) == 2

    article.section.name = "Énergie & eau"
    article.section.save()
    renamed = card_of(latest_cards(1)[0])
    assert "Énergie &amp; eau" in renamed and renamed != edited

    with timezone.override("Europe/Paris"):
        in_paris = card_of(latest_cards(1)[0])
    assert "+01:00" in in_paris and "+01:00" not in renamed
    assert len(remembered) == 4


def test_text_marked_safe_and_plain_text_are_different_keys():
    """The same characters escaped or not, 1 and 1.0, a list and a dict of
    the same items: each is its own key."""
    assert jinja._frozen(Markup("a &amp; b")) != jinja._frozen("a &amp; b")
    assert jinja._frozen(1) != jinja._frozen(1.0)
    assert jinja._frozen({"a": 1}) != jinja._frozen([("a", 1)])
    assert jinja._frozen({"a": [1, "x"]}) == jinja._frozen({"a": [1, "x"]})


def test_the_kept_cards_are_bounded(remembered, monkeypatch):
    """At most REMEMBERED_RENDERINGS placings are kept; the oldest go first."""
    monkeypatch.setattr(jinja, "REMEMBERED_RENDERINGS", 3)
    for number in range(5):
        make_article(title=f"Article {number}")
    cards = latest_cards(5)
    for card in cards:
        card_of(card)
    assert len(remembered) == 3
    kept = " ".join(markup for markup in remembered.values())
    assert cards[-1].title in kept and cards[0].title not in kept


def test_month_names_follow_the_active_catalogue():
    """Month names are looked up once per catalogue: French on the site, the
    message as written when translation is off, French again after."""
    day = timezone.make_aware(timezone.datetime(2026, 12, 7, 12))
    assert french_date(day) == "7 décembre 2026"
    translation.deactivate_all()
    try:
        assert french_date(day) == "7 December 2026"
    finally:
        translation.activate("fr")
    assert french_date(day) == "7 décembre 2026"
