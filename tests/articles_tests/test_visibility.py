from datetime import timedelta

import pytest
from django.db.models import Min
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from articles.models import (
    CARD_COLUMNS,
    Article,
    Author,
    PublishedListing,
    Section,
    Tag,
    find_by_slug,
    home_cards,
    latest_cards,
    published_article,
)
from newsroom.pagecache import read_clock
from tests.factories import (
    image_upload,
    make_article,
    make_author,
    make_section,
    make_tag,
    make_user,
)

pytestmark = pytest.mark.django_db


def test_published_contains_only_published_articles_whose_time_has_come():
    """published() keeps published articles dated now or earlier, nothing else."""
    past = make_article(published_at=timezone.now() - timedelta(minutes=1))
    make_article(published_at=timezone.now() + timedelta(minutes=5))
    make_article(published=False)
    make_article(published=False, published_at=timezone.now() - timedelta(days=1))

    assert list(Article.objects.published()) == [past]


def test_the_rule_restated_outside_the_queryset_agrees_with_it():
    """Two places restate published()/scheduled() because they cannot ask the
    database through it: Article.is_public and is_scheduled (one article in
    hand, no query) and the page cache's clock query (raw SQL, run on every
    request the cache may serve). For every kind of article they say what the
    QuerySet says; a draft dated before every scheduled article is not taken
    for the next publication."""
    now = timezone.now()
    articles = [
        make_article(published_at=now - timedelta(minutes=1)),
        make_article(published_at=now + timedelta(minutes=5)),
        make_article(published_at=now + timedelta(days=2)),
        make_article(published=False),
        make_article(published=False, published_at=now - timedelta(days=1)),
        make_article(published=False, published_at=now + timedelta(minutes=1)),
        make_article(
            published=False, status=Article.Status.REVIEW, published_at=now + timedelta(seconds=30)
        ),
    ]
    public = set(Article.objects.published().values_list("pk", flat=True))
    scheduled = set(Article.objects.scheduled().values_list("pk", flat=True))
    assert (len(public), len(scheduled)) == (1, 2)
    for article in articles:
        assert article.is_public == (article.pk in public), article
        assert article.is_scheduled == (article.pk in scheduled), article
    next_publication = Article.objects.scheduled().aggregate(Min("published_at"))
    assert read_clock().next_publication == next_publication["published_at__min"]
    assert read_clock().next_publication == articles[1].published_at


def test_publishing_without_a_date_stamps_the_current_time():
    """An article saved as published with no date is dated now, so it is public."""
    article = make_article(published_at=None)
    assert article.published_at is not None
    assert article.published_at <= timezone.now()
    assert article.is_public


def test_draft_is_404_for_anonymous_readers(client):
    """Draft articles are 404 for anonymous readers."""
    draft = make_article(published=False)
    assert client.get(draft.get_absolute_url()).status_code == 404


def test_scheduled_article_is_404_until_its_time(client):
    """An article published in the future is 404 until its publication time."""
    scheduled = make_article(published_at=timezone.now() + timedelta(hours=2))
    assert client.get(scheduled.get_absolute_url()).status_code == 404

    Article.objects.filter(pk=scheduled.pk).update(
        published_at=timezone.now() - timedelta(seconds=1)
    )
    assert client.get(scheduled.get_absolute_url()).status_code == 200


def test_past_article_is_public_and_cacheable(client):
    """A published article is 200 for anyone, not marked as a preview, and
    public for caches: no no-cache, no-store or private."""
    article = make_article()
    response = client.get(article.get_absolute_url())
    assertNotContains(response, "Aperçu")
    directives = set(response["Cache-Control"].split(", "))
    assert "public" in directives
    assert not directives & {"no-cache", "no-store", "private"}


@pytest.mark.parametrize("published", [False, True])
def test_staff_preview_drafts_and_scheduled_articles_uncached(client, published):
    """Staff with the change permission preview drafts and scheduled articles,
    marked as a preview, never cached and not indexed."""
    future = timezone.now() + timedelta(days=1) if published else None
    article = make_article(published=published, published_at=future)
    client.force_login(make_user(perms=["articles.change_article"]))

    response = client.get(article.get_absolute_url())

    assertContains(response, "Aperçu")
    assert set(response["Cache-Control"].split(", ")) == {
        "max-age=0",
        "no-cache",
        "no-store",
        "must-revalidate",
        "private",
    }
    assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_staff_without_change_permission_cannot_preview(client):
    """Being staff is not enough: previewing needs the change permission."""
    draft = make_article(published=False)
    client.force_login(make_user(perms=[]))
    assert client.get(draft.get_absolute_url()).status_code == 404


def test_unknown_article_is_404_even_for_staff(admin_client):
    """An address that names no article is 404 for everyone."""
    assert admin_client.get("/article/n-existe-pas/").status_code == 404


def test_djangos_latest_and_the_default_order_say_newest_first():
    """Article's own ordering and get_latest_by name the newest article: no
    queryset method of ours shadows QuerySet.latest()."""
    now = timezone.now()
    older = make_article(title="Ancien", published_at=now - timedelta(days=2))
    newer = make_article(title="Récent", published_at=now - timedelta(hours=1))
    assert Article.objects.published().latest() == newer
    assert Article.objects.published().earliest() == older
    assert list(Article.objects.published()) == [newer, older]


def test_the_article_page_reads_an_article_as_the_orm_would(django_assert_num_queries):
    """published_article() (the article page's three hand-written queries)
    gives what ``select_related("section").prefetch_related("authors", "tags")
    .published().get(slug=…)`` gives: every field, converted alike (the
    stored image copies are JSON), the section, the authors and tags in the
    same order, with no further query; and nothing
    for a draft, a scheduled article or an unknown address."""
    article = make_article(
        authors=[make_author(name="Zoé Abdrakhmanova"), make_author(name="Adil Nurmagambetov")],
        hero_image=image_upload(width=900, height=600),
        hero_image_alt="Un barrage",
    )
    article.tags.set([make_tag("Énergie"), make_tag("Eau"), make_tag("Coton")])
    expected = (
        Article.objects.select_related("section")
        .prefetch_related("authors", "tags")
        .published()
        .get(slug=article.slug)
    )
    assert expected.hero_renditions  # the JSON column holds something to convert

    with django_assert_num_queries(3):
        found = published_article(article.slug)
        authors, tags = list(found.authors.all()), list(found.tags.all())
        section = found.section

    assert authors == list(expected.authors.all()) and len(authors) == 2
    assert (
        [tag.name for tag in tags]
        == ["Coton", "Eau", "Énergie"]
        == [tag.name for tag in expected.tags.all()]
    )
    for field in Article._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(expected, field.attname), field
    assert found.get_deferred_fields() == expected.get_deferred_fields() == set()
    for field in section._meta.concrete_fields:
        assert getattr(section, field.attname) == getattr(expected.section, field.attname)
    assert [a.name for a in authors] == [a.name for a in expected.authors.all()]
    assert found._state.adding is False and found._state.db == "default"

    now = timezone.now()
    assert published_article(make_article(published=False).slug) is None
    assert published_article(make_article(published_at=now + timedelta(hours=1)).slug) is None
    assert published_article("aucun-article") is None


def test_the_home_pages_cards_are_what_the_orm_would_list(django_assert_num_queries):
    """latest_cards() (the home page's hand-written queries) lists what
    ``Article.objects.published().for_listing()`` sliced lists, newest first,
    with the same card values and sections; ``featured`` keeps the « à la
    une » ones; drafts and scheduled articles are not there."""
    now = timezone.now()
    for hours in (1, 2, 3, 5, 8):
        make_article(published_at=now - timedelta(hours=hours), is_featured=hours in (3, 8))
    make_article(published_at=now - timedelta(hours=4), hero_image=image_upload())
    make_article(published_at=now + timedelta(hours=1), is_featured=True)
    make_article(published=False, is_featured=True)
    listing = Article.objects.published().for_listing()

    with django_assert_num_queries(1):
        cards = latest_cards(4)
    expected = list(listing[:4])
    assert [card.pk for card in cards] == [article.pk for article in expected]
    for card, article in zip(cards, expected, strict=True):
        for column in CARD_COLUMNS:
            assert getattr(card, column) == getattr(article, column), column
        assert (card.section.name, card.section.slug) == (
            article.section.name,
            article.section.slug,
        )
    assert any(card.hero_renditions for card in cards)
    featured = latest_cards(5, featured=True)
    assert [card.pk for card in featured] == list(
        listing.filter(is_featured=True).values_list("pk", flat=True)
    )
    assert len(featured) == 2


def test_the_home_pages_one_query_holds_what_the_orm_would_list(django_assert_num_queries):
    """home_cards() gives, in one query, the latest articles, the newest « à
    la une » one and the latest of each section in menu order (position,
    then name), as the ORM lists them; drafts and scheduled articles are in
    none of them, and a section with nothing published has no block."""
    import random

    rng = random.Random(2028)
    now = timezone.now()
    sections = [
        make_section(name=name, position=position)
        for name, position in (("Économie", 2), ("Culture", 2), ("Société", 1), ("Vide", 0))
    ]
    for _ in range(30):
        make_article(
            section=rng.choice(sections[:3]),
            published=rng.random() < 0.85,
            published_at=now + timedelta(minutes=rng.choice([-1, 1]) * rng.randint(1, 5000)),
            is_featured=rng.random() < 0.2,
        )
    make_article(section=sections[3], published=False)
    published = Article.objects.published().for_listing()
    with django_assert_num_queries(1):
        latest, lead, blocks = home_cards(5, 3)
    assert [card.pk for card in latest] == [a.pk for a in published[:5]]
    assert lead.pk == published.filter(is_featured=True).first().pk
    expected = [
        article.pk
        for section in Section.objects.order_by("position", "name", "id")
        for article in published.in_section(section)[:3]
    ]
    assert [card.pk for card in blocks] == expected
    names = [card.section.name for card in blocks]
    assert sorted(set(names), key=names.index) == ["Société", "Culture", "Économie"]
    for card, article in zip(latest, published[:5], strict=True):
        for column in CARD_COLUMNS:
            assert getattr(card, column) == getattr(article, column), column
        assert card.section.slug == article.section.slug
    Article.objects.update(is_featured=False)
    assert home_cards(5, 3)[1] is None


def test_listings_page_what_their_querysets_hold(django_assert_num_queries):
    """PublishedListing (section, tag and author pages) counts and slices what
    ``published().in_section()``, ``filter(tags=…)`` and ``credited_to()``
    with for_listing() hold, newest first, for the object asked and no other:
    a draft, a scheduled article, another section's, another tag's, another
    author's are not there; an author's translations are."""
    now = timezone.now()
    section, other_section = make_section(), make_section()
    tag, other_tag = make_tag("Eau"), make_tag("Gaz")
    author, other_author = make_author(), make_author()
    for hours in range(7):
        article = make_article(
            section=section if hours % 3 else other_section,
            authors=[author] if hours % 2 else [other_author],
            published_at=now - timedelta(hours=hours + 1),
        )
        article.tags.set([tag] if hours < 5 else [other_tag])
    translated = make_article(authors=[other_author], published_at=now - timedelta(minutes=5))
    translated.translators.set([author])
    translated.tags.set([tag])
    for hidden in (
        make_article(section=section, authors=[author], published=False),
        make_article(section=section, authors=[author], published_at=now + timedelta(hours=1)),
    ):
        hidden.tags.set([tag])
    published = Article.objects.published()
    cases = [
        ("section", section, published.in_section(section)),
        ("tag", tag, published.filter(tags=tag)),
        ("author", author, published.credited_to(author)),
    ]
    for kind, owner, queryset in cases:
        listing, expected = PublishedListing(kind, owner.pk), queryset.for_listing()
        with django_assert_num_queries(2):
            count, window = listing.count(), listing[1:4]
        assert count == expected.count() >= 4, kind
        assert [card.pk for card in window] == [a.pk for a in expected[1:4]], kind
        for card, article in zip(window, expected[1:4], strict=True):
            for column in CARD_COLUMNS:
                assert getattr(card, column) == getattr(article, column), (kind, column)
            assert card.section.slug == article.section.slug
    assert translated.pk in [card.pk for card in PublishedListing("author", author.pk)[0:10]]


def test_pages_find_sections_tags_and_public_authors_as_their_querysets_do(
    django_assert_num_queries,
):
    """find_by_slug (section, tag and author pages) gives, in one query, the
    object their QuerySets give, every field loaded, as loaded from the
    database; an author is found only while crediting a published article
    (signing or translating it); an unknown slug finds nothing."""
    now = timezone.now()
    section, tag = make_section(), make_tag("Énergie")
    signing, translating, unpublished, scheduled = (make_author() for _ in range(4))
    make_article(section=section, authors=[signing]).tags.set([tag])
    make_article(authors=[make_author()]).translators.set([translating])
    make_article(authors=[unpublished], published=False)
    make_article(authors=[scheduled], published_at=now + timedelta(hours=1))
    cases = [
        ("section", section, Section.objects.all()),
        ("tag", tag, Tag.objects.all()),
        ("author", signing, Author.objects.public()),
        ("author", translating, Author.objects.public()),
    ]
    for kind, wanted, queryset in cases:
        with django_assert_num_queries(1):
            found = find_by_slug(kind, wanted.slug)
        expected = queryset.get(slug=wanted.slug)
        assert type(found) is type(expected) and found.get_deferred_fields() == set()
        for field in expected._meta.concrete_fields:
            assert getattr(found, field.attname) == getattr(expected, field.attname), field
        assert found._state.adding is False and found._state.db == "default"
    for author in (unpublished, scheduled):
        assert find_by_slug("author", author.slug) is None
        assert not Author.objects.public().filter(pk=author.pk).exists()
    for kind in ("section", "tag", "author"):
        assert find_by_slug(kind, "aucune-adresse") is None
