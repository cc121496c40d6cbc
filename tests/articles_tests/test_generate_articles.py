"""``generate_articles`` fills a database for the benchmarks: articles that
every page and the search can read, the search's GIN index made again when
many are added at once."""

import pytest
from django.core.management import call_command
from django.db import connection

from articles.management.commands import generate_articles
from articles.models import Article, SearchResults
from articles.search import query_text, query_words

pytestmark = pytest.mark.django_db


def search_index_definition():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_indexdef(%s::regclass)", [generate_articles.SEARCH_INDEX])
        return cursor.fetchone()[0]


def test_the_search_index_is_made_again_when_the_load_stops(monkeypatch):
    """A large load interrupted (an error, Ctrl-C) leaves the search's index as
    it was, not dropped."""
    definition = search_index_definition()
    monkeypatch.setattr(generate_articles, "REBUILD_INDEX_FROM", 1)

    def failing(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Article.objects, "bulk_create", failing)
    with pytest.raises(KeyboardInterrupt):
        call_command("generate_articles", 40, verbosity=0)
    assert search_index_definition() == definition


@pytest.mark.parametrize("rebuild_from", [1, 10_000])
def test_generated_articles_are_published_and_found(monkeypatch, rebuild_from):
    """The demo content, then generated articles up to the total asked for,
    each with its search entry; with many at once (here: from one) the
    search's index is dropped during the load and made again as it was."""
    definition = search_index_definition()
    monkeypatch.setattr(generate_articles, "REBUILD_INDEX_FROM", rebuild_from)
    indexed_during_load = []
    bulk_create = Article.objects.bulk_create

    def saving(*args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)", [generate_articles.SEARCH_INDEX])
            indexed_during_load.append(cursor.fetchone()[0] is not None)
        return bulk_create(*args, **kwargs)

    monkeypatch.setattr(Article.objects, "bulk_create", saving)
    call_command("generate_articles", 40, verbosity=0)
    assert indexed_during_load == [rebuild_from > 27]  # 27 articles, in one batch
    generated = Article.objects.filter(slug__regex=r"-[0-9]+$")
    assert Article.objects.count() == 40 and generated.count() == 40 - 13  # the demo's 13
    assert generated.published().count() == 27
    assert search_index_definition() == definition
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM articles_article_search")
        assert cursor.fetchone()[0] == 40
    newest = generated.latest()
    word = max(query_words(newest.title), key=len)  # not a stop word
    results = SearchResults(query_text([word], {}), 40)
    assert results.count() and newest.pk in [card.pk for card in results[0:40]]
    call_command("generate_articles", 40, verbosity=0)  # nothing to add
    assert Article.objects.count() == 40
