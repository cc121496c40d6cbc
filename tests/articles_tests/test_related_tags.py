"""« À lire aussi » ranks candidates from articles_article.tag_ids, a column
PostgreSQL keeps from the article-tag links (migration 0025). These tests
change the links by every route a change can take and read the column back,
and compare the ranking with the rule written plainly in Python."""

import random
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from articles.models import Article, Tag, published_article, related_cards
from tests.factories import make_article, make_section, make_tag

pytestmark = pytest.mark.django_db


def stored_tag_ids(article):
    with connection.cursor() as cursor:
        cursor.execute("SELECT tag_ids FROM articles_article WHERE id = %s", [article.pk])
        return cursor.fetchone()[0]


def linked_tag_ids(article):
    return sorted(
        article.tags.through.objects.filter(article=article).values_list("tag_id", flat=True)
    )


def test_the_column_follows_every_change_of_an_articles_tags():
    one, two, three = make_tag("Eau"), make_tag("Énergie"), make_tag("Coton")
    article, other = make_article(), make_article()
    assert stored_tag_ids(article) == []

    article.tags.add(two, one)
    assert stored_tag_ids(article) == sorted([one.pk, two.pk])
    article.tags.remove(two)
    assert stored_tag_ids(article) == [one.pk]
    article.tags.set([three, two])
    assert stored_tag_ids(article) == sorted([two.pk, three.pk])
    article.tags.clear()
    assert stored_tag_ids(article) == []

    # From the tag's side, and in bulk.
    one.articles.add(article, other)
    assert stored_tag_ids(article) == [one.pk] and stored_tag_ids(other) == [one.pk]
    Article.tags.through.objects.bulk_create(
        [
            Article.tags.through(article=article, tag=two),
            Article.tags.through(article=other, tag=three),
        ]
    )
    assert stored_tag_ids(article) == sorted([one.pk, two.pk])
    assert stored_tag_ids(other) == sorted([one.pk, three.pk])

    # A link moved to another article or tag in raw SQL: both articles follow.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE articles_article_tags SET article_id = %s"
            " WHERE article_id = %s AND tag_id = %s",
            [other.pk, article.pk, two.pk],
        )
    assert stored_tag_ids(article) == [one.pk]
    assert stored_tag_ids(other) == sorted([one.pk, two.pk, three.pk])

    # A deleted tag leaves every article it was on.
    one.delete()
    assert stored_tag_ids(article) == [] and stored_tag_ids(other) == sorted([two.pk, three.pk])
    for each in (article, other):
        assert stored_tag_ids(each) == linked_tag_ids(each)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # no deferred check pending
def test_the_column_empties_when_the_links_table_is_truncated():
    article = make_article()
    article.tags.set([make_tag("Eau"), make_tag("Coton")])
    assert len(stored_tag_ids(article)) == 2
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE articles_article_tags")
    assert stored_tag_ids(article) == []


def test_saving_an_instance_read_before_its_tags_changed_keeps_the_new_tags():
    """The column is not a model field: save() never writes back a stale list."""
    tag = make_tag("Eau")
    article = make_article()
    stale = Article.objects.get(pk=article.pk)
    article.tags.add(tag)
    stale.title = "Titre revu"
    stale.save()
    assert stored_tag_ids(article) == [tag.pk]
    assert "tag_ids" not in {field.attname for field in Article._meta.concrete_fields}


def _expected_related(article, count=4, candidates=200):
    """The rule, written plainly: among the ``candidates`` newest public
    articles that share its section or a tag, the most shared tags first, then
    the newest."""
    tags = set(article.tags.values_list("pk", flat=True))
    eligible = [
        other
        for other in Article.objects.published().order_by("-published_at").prefetch_related("tags")
        if other.pk != article.pk
        and (other.section_id == article.section_id or tags & {t.pk for t in other.tags.all()})
    ][:candidates]
    ranked = sorted(
        eligible,
        key=lambda other: (
            -len(tags & {t.pk for t in other.tags.all()}),
            -other.published_at.timestamp(),
        ),
    )
    return [other.pk for other in ranked[:count]]


def test_related_articles_follow_the_rule_on_random_archives():
    rng = random.Random(8)
    sections = [make_section() for _ in range(3)]
    tags = [make_tag(f"Sujet {number}") for number in range(6)]
    now = timezone.now()
    articles = []
    for minutes in rng.sample(range(-5000, 60), 40):  # no two at the same time
        article = make_article(
            section=rng.choice(sections),
            published=rng.random() > 0.15,
            published_at=now + timedelta(minutes=minutes),
        )
        if rng.random() > 0.1:
            article.tags.set(rng.sample(tags, rng.randint(1, 4)))
        articles.append(article)
    checked = 0
    for article in articles:
        page_article = published_article(article.slug)
        if page_article is None:
            continue  # drafts and scheduled articles have no public page
        checked += 1
        for candidates in (3, 200):
            found = [card.pk for card in related_cards(page_article, candidates=candidates)]
            assert found == _expected_related(article, candidates=candidates), article.pk
    assert checked > 20
    # Deleting tags changes the ranking at once.
    article = next(filter(None, (published_article(each.slug) for each in articles)))
    Tag.objects.filter(pk__in=[tag.pk for tag in tags[:3]]).delete()
    article = published_article(article.slug)
    assert [card.pk for card in related_cards(article)] == _expected_related(article)
