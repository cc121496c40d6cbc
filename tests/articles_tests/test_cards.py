"""Article cards are placed once per set of values (newsroom.jinja._macro with
``remembered``): the same values give the same markup, other values other
markup, with nothing to invalidate."""

import pytest
from django.template import engines
from django.utils import timezone, translation
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from articles.models import Article, latest_cards, published_article
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


def _typed(value):
    """Two values are the same card arguments when they are equal with the
    same types at every level: the rule the keys follow, written plainly."""
    if isinstance(value, dict):
        return (type(value), tuple((name, _typed(item)) for name, item in value.items()))
    if isinstance(value, list | tuple):
        return (type(value), tuple(_typed(item) for item in value))
    return (type(value), value)


_plain = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.0, 1.0, 2.5]),
    st.sampled_from(["", "a", "1", "a &amp; b"]),
    st.sampled_from(["", "a", "a &amp; b"]).map(Markup),
)
_arguments = st.recursive(
    _plain,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.sampled_from(["url", "title", "picture"]), inner, max_size=3),
    ),
    max_leaves=8,
)


def _twin(value, draw):
    """``value`` with some parts swapped for equal values of another type
    (1, True and 1.0; text and the same text marked safe; a list and a tuple)."""
    if isinstance(value, dict):
        return {name: _twin(item, draw) for name, item in value.items()}
    if isinstance(value, list | tuple):
        items = [_twin(item, draw) for item in value]
        return draw(st.sampled_from([list, tuple]))(items)
    if isinstance(value, str):
        return draw(st.sampled_from([str(value), Markup(value)]))
    if isinstance(value, bool | int | float) and value in (0, 1):
        return draw(st.sampled_from([int(value), bool(value), float(value)]))
    return value


@settings(max_examples=300, deadline=None)
@given(_arguments, _arguments, st.data())
def test_two_sets_of_arguments_share_a_key_exactly_when_equal_with_their_types(first, other, data):
    twin = _twin(first, data.draw)
    for second in (other, twin):
        same_key = jinja._frozen(first) == jinja._frozen(second)
        assert same_key == (_typed(first) == _typed(second)), (first, second)


def test_cards_decode_an_image_description_once_and_follow_its_changes():
    """A card's hero_renditions is decoded once per text and shared between
    cards (articles.models._shared_json); the article page's own article is
    decoded for itself; a new description is decoded anew."""
    article = make_article(title="Le barrage de Rogun", hero_image=image_upload())
    stored = Article.objects.get(pk=article.pk).hero_renditions
    assert stored["crops"]
    first, second = latest_cards(1)[0], latest_cards(1)[0]
    assert first.hero_renditions == stored
    assert first.hero_renditions is second.hero_renditions
    assert published_article(article.slug).hero_renditions is not first.hero_renditions
    Article.objects.filter(pk=article.pk).update(hero_renditions={"key": "autre", "crops": {}})
    assert latest_cards(1)[0].hero_renditions == {"key": "autre", "crops": {}}


CARD_STORED_COLUMNS = (
    "title",
    "slug",
    "standfirst",
    "hero_image",
    "hero_image_alt",
    "hero_renditions",
)


def test_a_long_articles_card_columns_are_kept_in_its_row():
    """Migration 0028: what a card shows stays in the article's row, whatever
    else the row holds; the body goes out. Before it, while the row also held
    a long search vector (0026 to 0029), every card of a long article read
    six values from the TOAST table."""
    from django.db import connection

    words = " ".join(f"terme{(number * 7) % 300}" for number in range(1500))
    article = make_article(
        title="Un long dossier sur les glaciers du Pamir et leurs rivières " * 2,
        standfirst="Ce que les relevés de trente ans disent de l’eau de la région. " * 4,
        hero_image="articles/2026/12/un-long-dossier-sur-les-glaciers-du-pamir.jpg",
        hero_image_alt="Un glacier du Pamir vu depuis la vallée, en été.",
        body=f"<p>{words}</p>",
    )
    renditions = {"crops": {"card": [[480, 320, "renditions/" + "x" * 80 + ".jpg"]] * 8}}
    Article.objects.filter(pk=article.pk).update(hero_renditions=renditions)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, attstorage FROM pg_attribute"
            " WHERE attrelid = 'articles_article'::regclass AND attname = ANY(%s)",
            [list(CARD_STORED_COLUMNS)],
        )
        assert dict(cursor.fetchall()) == dict.fromkeys(CARD_STORED_COLUMNS, "m")
        cursor.execute("SELECT current_setting('server_version_num')::int")
        if cursor.fetchone()[0] < 170000:  # pg_column_toast_chunk_id: PostgreSQL 17 and later
            return
        chunks = ", ".join(f"pg_column_toast_chunk_id({c})" for c in CARD_STORED_COLUMNS)
        cursor.execute(
            f"SELECT {chunks}, pg_column_toast_chunk_id(body)"  # noqa: S608
            " FROM articles_article WHERE id = %s",
            [article.pk],
        )
        *card_chunks, body_chunk = cursor.fetchone()
    assert card_chunks == [None] * len(CARD_STORED_COLUMNS) and body_chunk is not None
