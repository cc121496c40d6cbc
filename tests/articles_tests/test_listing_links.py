"""The tag and author pages read their articles from the links' ``public_from``
(migration 0027), which PostgreSQL keeps equal to the article's publication
time when it is published and NULL otherwise. These tests change articles and
links by every route a change can take and read the column back, compare the
listings with published() on random archives, and race a link against a
change of its article on two connections."""

import random
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from articles.models import Article, PublishedListing
from tests.factories import change_visibility, make_article, make_author, make_tag

pytestmark = pytest.mark.django_db

LINKS = {
    "tags": Article.tags.through,
    "authors": Article.authors.through,
    "translators": Article.translators.through,
}


def public_from(article):
    """The value each link table holds for ``article``'s links (one per table)."""
    values = {}
    with connection.cursor() as cursor:
        for name, through in LINKS.items():
            cursor.execute(
                f"SELECT DISTINCT public_from FROM {through._meta.db_table} WHERE article_id = %s",  # noqa: S608
                [article.pk],
            )
            rows = cursor.fetchall()
            assert len(rows) <= 1, (name, rows)
            values[name] = rows[0][0] if rows else "no link"
    return values


def linked(article):
    """``article`` with a link in each table."""
    article.tags.set([make_tag(f"Mot {article.pk}")])
    article.translators.set([make_author()])
    return article


def expected(article):
    article.refresh_from_db()
    value = article.published_at if article.status == Article.Status.PUBLISHED else None
    return dict.fromkeys(LINKS, value)


def test_links_follow_every_change_of_their_article():
    now = timezone.now()
    draft = linked(make_article(published=False))
    assert public_from(draft) == dict.fromkeys(LINKS, None)

    draft.status, draft.published_at = Article.Status.PUBLISHED, now - timedelta(hours=1)
    draft.save()  # published through save(), as the admin does
    assert public_from(draft) == expected(draft) == dict.fromkeys(LINKS, draft.published_at)

    later = now + timedelta(days=1)
    Article.objects.filter(pk=draft.pk).update(published_at=later)  # rescheduled: update()
    assert public_from(draft) == dict.fromkeys(LINKS, later)

    with connection.cursor() as cursor:  # unpublished by hand
        cursor.execute("UPDATE articles_article SET status = 'draft' WHERE id = %s", [draft.pk])
    assert public_from(draft) == dict.fromkeys(LINKS, None)

    Article.objects.filter(pk=draft.pk).update(status=Article.Status.PUBLISHED)
    assert public_from(draft) == dict.fromkeys(LINKS, later)

    draft.title = "Un autre titre"  # a save that changes neither: the values stay
    draft.save()
    assert public_from(draft) == expected(draft)


def test_new_and_moved_links_take_their_articles_value():
    published = make_article(published_at=timezone.now() - timedelta(hours=2))
    draft = make_article(published=False)
    tag, author = make_tag("Eau"), make_author()
    Article.tags.through.objects.bulk_create(
        [
            Article.tags.through(article=published, tag=tag),
            Article.tags.through(article=draft, tag=tag),
        ]
    )
    published.translators.add(author)
    draft.translators.add(author)
    assert public_from(published)["tags"] == published.published_at
    assert public_from(published)["translators"] == published.published_at
    assert public_from(draft)["tags"] is None and public_from(draft)["translators"] is None
    # A link moved to another article by hand takes the new article's value.
    Article.tags.through.objects.filter(article=draft, tag=tag).delete()
    Article.tags.through.objects.filter(article=published, tag=tag).update(article=draft)
    assert public_from(draft)["tags"] is None and public_from(published)["tags"] == "no link"
    assert list(PublishedListing("tag", tag.pk)[0:5]) == []
    # The tags kept on the article rows (migration 0025) followed the move.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, tag_ids FROM articles_article WHERE id IN (%s, %s)",
            [published.pk, draft.pk],
        )
        assert dict(cursor.fetchall()) == {published.pk: [], draft.pk: [tag.pk]}


def test_listings_match_published_on_random_archives():
    """On random archives, changed at random by every route, each tag's and
    author's listing counts and pages what published() holds, newest first,
    every article once (an author may sign and translate the same one)."""
    rng = random.Random(8027)
    now = timezone.now()
    tags = [make_tag(f"Thème {n}") for n in range(3)]
    authors = [make_author() for _ in range(3)]
    articles = []
    for n in range(24):
        moment = now + timedelta(hours=rng.choice([-30, -20, -5, -1, 2]), minutes=n)
        article = make_article(
            published=rng.random() < 0.8, authors=rng.sample(authors, rng.randint(0, 2))
        )
        Article.objects.filter(pk=article.pk).update(published_at=moment)
        article.tags.set(rng.sample(tags, rng.randint(0, 2)))
        article.translators.set(rng.sample(authors, rng.randint(0, 2)))
        articles.append(article)

    def check():
        published = Article.objects.published()
        cases = [("tag", tag, published.filter(tags=tag)) for tag in tags] + [
            ("author", author, published.credited_to(author)) for author in authors
        ]
        for kind, owner, queryset in cases:
            want = list(queryset.order_by("-published_at", "-pk").values_list("pk", flat=True))
            listing = PublishedListing(kind, owner.pk)
            assert listing.count() == len(want), (kind, owner.pk)
            got = [card.pk for start in range(0, 30, 4) for card in listing[start : start + 4]]
            assert got == want, (kind, owner.pk)

    check()
    for _ in range(12):
        article = rng.choice(articles)
        change = rng.randrange(5)
        if change < 2:
            change_visibility(article, change, rng, now)
        elif change == 2:
            article.tags.set(rng.sample(tags, rng.randint(0, 3)))
        elif change == 3:
            article.authors.set(rng.sample(authors, rng.randint(0, 2)))
        else:
            article.translators.set(rng.sample(authors, rng.randint(0, 2)))
        check()
    assert any(PublishedListing("author", a.pk).count() for a in authors)


def waits_for_a_transaction_that(sql, params, then):
    """Runs ``sql`` in a transaction on a second connection, calls ``then`` in
    a thread meanwhile, asserts that it waits for that transaction, commits,
    and lets it finish."""
    other = connections.create_connection("default")
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute(sql, params)
        done = threading.Event()

        def run():
            try:
                then()
            finally:
                connections.close_all()
                done.set()

        waiting = threading.Thread(target=run)
        waiting.start()
        assert not done.wait(0.5)  # it waits for the other transaction
        other.commit()
        waiting.join(30)
        assert done.is_set()
    finally:
        other.close()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # two connections
def test_a_link_written_during_its_articles_publication_takes_the_new_value():
    """A tag added in one transaction while another publishes the article:
    the link waits for the publication and reads it, instead of keeping the
    draft's NULL that the publication's own update could not see."""
    article = make_article(published=False)
    tag = make_tag("Eau")
    moment = timezone.now() - timedelta(minutes=1)
    waits_for_a_transaction_that(
        "UPDATE articles_article SET status = 'published', published_at = %s WHERE id = %s",
        [moment, article.pk],
        then=lambda: article.tags.add(tag),
    )
    assert public_from(article)["tags"] == moment
    assert [card.pk for card in PublishedListing("tag", tag.pk)[0:5]] == [article.pk]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # two connections
def test_two_tags_added_at_once_to_one_article_are_both_kept():
    """Two transactions tag the same article at the same moment: the second
    link waits for the first transaction (the article row read FOR SHARE),
    so the tag list PostgreSQL keeps on the article (migration 0025) holds
    both tags, not only the last transaction's."""
    article = make_article()
    first, second = make_tag("Eau"), make_tag("Énergie")
    waits_for_a_transaction_that(
        "INSERT INTO articles_article_tags (article_id, tag_id) VALUES (%s, %s)",
        [article.pk, first.pk],
        then=lambda: article.tags.add(second),
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT tag_ids FROM articles_article WHERE id = %s", [article.pk])
        assert cursor.fetchone()[0] == sorted([first.pk, second.pk])
    assert public_from(article)["tags"] == article.published_at
