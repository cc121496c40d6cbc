"""The search reads its own table (migration 0029): one entry per article,
with the article's search vector and ``public_from`` (its publication time
when it is published, else NULL), which PostgreSQL keeps from triggers on the
article table. These tests change articles by every route a change can take
and read the entries back, compare the search with published() and the
vector's expression on a random archive, and migrate an archive across 0029."""

import random
from datetime import timedelta

import pytest
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from articles import models
from articles.models import Article, SearchResults
from articles.search import SEARCH_CONFIG, query_text, search_vector_expression
from tests.factories import change_visibility, make_article, make_section

pytestmark = pytest.mark.django_db


def entries():
    """{article id: (public_from, vector as text, where the row version is)}:
    every write of an entry makes a new row version, somewhere else."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT article_id, public_from, vector::text, ctid::text FROM articles_article_search"
        )
        return {row[0]: tuple(row[1:]) for row in cursor.fetchall()}


def expected_entries():
    """The entries the articles call for: published() is the rule for the
    date, the vector's expression (search.py) for the vector."""
    rows = Article.objects.annotate(vector=search_vector_expression()).values_list(
        "pk", "status", "published_at", "vector"
    )
    return {
        pk: (published_at if status == Article.Status.PUBLISHED else None, str(vector))
        for pk, status, published_at, vector in rows
    }


def assert_entries_follow_the_articles():
    found = {pk: values[:2] for pk, values in entries().items()}
    assert found == expected_entries()


def test_entries_follow_every_change_of_their_article():
    now = timezone.now()
    draft = make_article(published=False, authors=[], title="Le coton", body="<p>Les champs.</p>")
    assert entries()[draft.pk][0] is None
    assert_entries_follow_the_articles()

    draft.status, draft.published_at = Article.Status.PUBLISHED, now - timedelta(hours=1)
    draft.save()  # published through save(), as the admin does
    assert entries()[draft.pk][0] == draft.published_at
    assert_entries_follow_the_articles()

    Article.objects.filter(pk=draft.pk).update(published_at=now + timedelta(days=1))
    Article.objects.filter(pk=draft.pk).update(standfirst="Les récoltes d’automne.")
    assert_entries_follow_the_articles()
    with connection.cursor() as cursor:  # by hand: the body, then the status
        cursor.execute(
            "UPDATE articles_article SET body = '<p>Les glaciers.</p>' WHERE id = %s", [draft.pk]
        )
        assert_entries_follow_the_articles()
        cursor.execute("UPDATE articles_article SET status = 'draft' WHERE id = %s", [draft.pk])
    assert entries()[draft.pk][0] is None
    assert "'glaci':" in entries()[draft.pk][1] and "champ" not in entries()[draft.pk][1]
    assert_entries_follow_the_articles()

    Article.objects.bulk_create(
        [
            Article(
                title="Barrage de Rogun",
                slug="barrage",
                section=make_section(),
                status=Article.Status.PUBLISHED,
                published_at=now,
            )
        ]
    )
    assert len(entries()) == 2
    assert_entries_follow_the_articles()

    Article.objects.get(slug="barrage").delete()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM articles_article WHERE id = %s", [draft.pk])
    assert entries() == {}


def test_an_article_given_another_id_takes_its_entry_along():
    """Nothing in the site changes an article's id, but raw SQL may: the entry
    follows it, and none stays behind under the old one."""
    article = make_article(authors=[], title="Le coton")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the links' checks, first
        cursor.execute("UPDATE articles_article SET id = id + 1000 WHERE id = %s", [article.pk])
    assert list(entries()) == [article.pk + 1000]
    assert_entries_follow_the_articles()
    assert [card.pk for card in SearchResults(query_text(["coton"], {}), 5)[0:5]] == [
        article.pk + 1000
    ]


def test_an_edit_that_leaves_the_text_and_date_alone_leaves_the_entry_alone():
    """Featuring an article, or saving it unchanged, does not write its entry
    again (a generated column computed the vector again on every update);
    a publication writes the date only, with the same vector."""
    article = make_article(published=False)
    (_, vector, written) = entries()[article.pk]
    Article.objects.filter(pk=article.pk).update(is_featured=True)
    article.refresh_from_db()
    article.save()
    assert entries()[article.pk] == (None, vector, written)
    article.status, article.published_at = Article.Status.PUBLISHED, timezone.now()
    article.save()
    public_from, same_vector, rewritten = entries()[article.pk]
    assert (public_from, same_vector) == (article.published_at, vector)
    assert rewritten != written


def test_a_truncated_article_table_leaves_no_entry():
    """A TRUNCATE (a test database's flush) empties the entries too: no search
    may count articles that are gone."""
    make_article()
    make_article(published=False)
    assert len(entries()) == 2
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no check left pending
        cursor.execute("TRUNCATE articles_article CASCADE")
    assert entries() == {}


WORDS = ["coton", "glacier", "barrage", "steppe", "frontière", "caravane"]


def _text(rng):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6)))


def reference_search(text, ranked):
    """What the search should give for the tsquery ``text``: published()'s
    articles whose vector (the expression) matches, the ``ranked`` most recent,
    best first; and how many of them."""
    query = SearchQuery(text, search_type="raw", config=SEARCH_CONFIG)
    recent = list(
        Article.objects.published()
        .annotate(vector=search_vector_expression())
        .filter(vector=query)
        .annotate(rank=SearchRank(search_vector_expression(), query))
        .order_by("-published_at", "-pk")
        .values_list("pk", "rank", "published_at")[:ranked]
    )
    recent.sort(key=lambda row: (-row[1], -row[2].timestamp(), -row[0]))
    return [pk for pk, _, _ in recent]


def test_the_search_matches_published_on_random_archives(monkeypatch):
    """On a random archive changed at random by every route, each query finds
    what published() and the vector's expression say, ranked and cut as the
    search ranks and cuts, page after page."""
    monkeypatch.setattr(models, "SEARCH_RANKED", 7)
    rng = random.Random(8029)
    now = timezone.now()
    articles = []
    for number in range(20):
        article = make_article(
            published=rng.random() < 0.8,
            title=f"{_text(rng)} {number}",
            standfirst=_text(rng),
            body=f"<p>{_text(rng)}</p><p>{_text(rng)}</p>",
        )
        Article.objects.filter(pk=article.pk).update(
            published_at=now + timedelta(hours=rng.choice([-30, -5, -1, 2]), minutes=number)
        )
        articles.append(article)
    queries = [query_text([word], {}) for word in WORDS] + [
        query_text(["coton", "glacier"], {}),
        query_text(["barrage"], {"barrage": {"steppe"}}),
    ]

    def check():
        assert_entries_follow_the_articles()
        for text in queries:
            want = reference_search(text, 7)
            results = SearchResults(text, 3)
            assert results.count() == len(want), text
            got = [card.pk for start in range(0, 9, 3) for card in results[start : start + 3]]
            assert got == want, text

    check()
    for step in range(14):
        article = rng.choice(articles)
        change = rng.randrange(5)
        if change < 2:
            change_visibility(article, change, rng, now)
        elif change == 2:
            article.refresh_from_db()
            article.body = f"<p>{_text(rng)}</p>"
            article.save()
        elif change == 3:
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE articles_article SET title = %s WHERE id = %s",
                    [f"{_text(rng)} {step}", article.pk],
                )
        else:
            articles.remove(article)
            article.delete()
            articles.append(make_article(title=_text(rng), body=f"<p>{_text(rng)}</p>"))
        check()


def test_migrating_gives_every_existing_article_its_entry():
    """Across migration 0029: the articles written before it (with the vector
    in their row) get their entries, with the same vector, and the article
    table loses its column."""
    executor = MigrationExecutor(connection)
    before = [("articles", "0028_card_columns_inline")]
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    OldArticle = apps.get_model("articles", "Article")
    OldSection = apps.get_model("articles", "Section")
    section = OldSection.objects.create(name="Économie", slug="economie")
    now = timezone.now()
    OldArticle.objects.create(
        title="Le coton",
        slug="coton",
        section=section,
        body="<p>Les champs.</p>",
        status="published",
        published_at=now,
    )
    OldArticle.objects.create(title="Brouillon", slug="brouillon", section=section)
    vectors = dict(OldArticle.objects.values_list("pk", "search_vector"))
    with connection.cursor() as cursor:  # as if written before: no check left pending
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    found = entries()
    assert {pk: values[1] for pk, values in found.items()} == {
        pk: str(vector) for pk, vector in vectors.items()
    }
    assert sorted(values[0] for values in found.values() if values[0]) == [now]
    assert [values[0] for values in found.values()].count(None) == 1
    assert_entries_follow_the_articles()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'articles_article'::regclass"
            " AND attname = 'search_vector'"
        )
        assert cursor.fetchone()[0] == 0
