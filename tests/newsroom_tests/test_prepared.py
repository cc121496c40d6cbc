"""The public pages' own queries run as prepared statements (newsroom.prepared):
prepared once per database session, the same rows as unprepared, and still
working after a rollback, a new connection or a DISCARD ALL."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from articles.models import PublishedListing, published_article, related_cards
from newsroom import prepared
from tests.factories import make_article, make_tag

pytestmark = pytest.mark.django_db

SQL = "SELECT %s::int + 1, '100%%', %s::text"


def statements():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'newsroom%%'"
        )
        return dict(cursor.fetchall())


def counting_prepares(monkeypatch):
    calls = []
    real = prepared._prepare

    def counted(connection, cursor, statement):
        calls.append(statement)
        return real(connection, cursor, statement)

    monkeypatch.setattr(prepared, "_prepare", counted)
    return calls


def run(sql=SQL, params=(41, "texte")):
    with connection.cursor() as cursor:
        prepared.execute(connection, cursor, sql, list(params))
        return cursor.fetchall()


def test_a_query_is_prepared_once_and_gives_what_the_plain_query_gives(monkeypatch):
    sql = SQL + " -- once"
    prepares = counting_prepares(monkeypatch)
    assert run(sql) == [(42, "100%", "texte")]
    name = prepared._statement(sql)[0]
    assert statements()[name] == (
        f"PREPARE {name} AS SELECT $1::int + 1, '100%', $2::text -- once"
    )
    assert run(sql, params=(1, "autre")) == [(2, "100%", "autre")]
    assert prepares == [statements()[name]]  # once for the session
    with connection.cursor() as cursor:
        cursor.execute(SQL, [41, "texte"])
        assert cursor.fetchall() == run()


def test_the_article_page_queries_are_prepared_and_read_the_same_rows(client, monkeypatch):
    tag = make_tag("Eau")
    article = make_article(title="L’article lu")
    article.tags.add(tag)
    make_article(title="Un voisin").tags.add(tag)
    assert client.get(article.get_absolute_url()).status_code == 200
    kept = statements()
    assert len(kept) >= 5  # the article, its authors, tags, « À lire aussi », the clock
    assert any("articles_article_tags" in text for text in kept.values())
    # Read again: nothing new is prepared, and the rows are those of unprepared SQL.
    prepares = counting_prepares(monkeypatch)
    assert client.get(article.get_absolute_url()).status_code == 200
    assert statements() == kept and prepares == []
    page_article = published_article(article.slug)
    with_statements = [card.pk for card in related_cards(page_article)]
    assert with_statements
    monkeypatch.setattr("django.conf.settings.DATABASE_PREPARED_STATEMENTS", False)
    assert [card.pk for card in related_cards(page_article)] == with_statements


def test_statements_outlive_a_rollback(monkeypatch):
    sql = SQL + " -- rolled back"
    prepares = counting_prepares(monkeypatch)
    try:
        with transaction.atomic():
            assert run(sql) == [(42, "100%", "texte")]
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    assert len(prepares) == 1
    assert prepared._statement(sql)[0] in statements()  # a session's, not the transaction's
    assert run(sql) == [(42, "100%", "texte")]
    assert len(prepares) == 1


def test_without_prepared_statements_the_same_sql_runs_as_written(settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    sql = SQL + " -- as written"
    assert run(sql) == [(42, "100%", "texte")]
    assert prepared._statement(sql)[0] not in statements()


def test_connections_closed_after_each_request_do_not_prepare(monkeypatch):
    """With CONN_MAX_AGE 0 a statement would be prepared for one use."""
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    sql = SQL + " -- one use"
    assert run(sql) == [(42, "100%", "texte")]
    assert prepared._statement(sql)[0] not in statements()


def test_a_statement_removed_inside_a_transaction_fails_loudly():
    """In a transaction the failed EXECUTE has aborted it: no silent retry."""
    run()
    with connection.cursor() as cursor:
        cursor.execute(f"DEALLOCATE {prepared._statement(SQL)[0]}")
    with pytest.raises(DatabaseError, match="does not exist"), transaction.atomic():
        run()


def plan_cache_mode():
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # DISCARD ALL: no transaction
def test_statements_removed_behind_djangos_back_are_prepared_again():
    assert run() == [(42, "100%", "texte")]
    assert plan_cache_mode() == "force_generic_plan"
    with connection.cursor() as cursor:
        cursor.execute("DISCARD ALL")  # as a pooler resetting the session does
    assert statements() == {} and plan_cache_mode() == "auto"
    assert run(params=(9, "encore")) == [(10, "100%", "encore")]
    assert prepared._statement(SQL)[0] in statements()
    assert plan_cache_mode() == "force_generic_plan"
    # A new connection is a new session: prepared again there.
    connection.close()
    assert run() == [(42, "100%", "texte")]
    assert prepared._statement(SQL)[0] in statements()
    assert plan_cache_mode() == "force_generic_plan"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # sessions outside transactions
def test_prepared_statements_keep_one_generic_plan(settings):
    """A session that prepares asks for generic plans, and its statements use
    one (the values are parameters of the plan); a session asked to run the
    SQL as written (PgBouncer in transaction mode) or first used inside a
    transaction (which a rollback would undo) leaves the setting alone."""
    tag = make_tag("Eau")
    make_article().tags.add(tag)
    listing = PublishedListing("tag", tag.pk)
    assert len(listing[0:5]) == 1
    name = prepared._statement(listing.page_query[0])[0]
    arguments = ", ".join(["%s"] * (len(listing.page_query[1]) + 2))
    with connection.cursor() as cursor:
        cursor.execute(
            f"EXPLAIN EXECUTE {name}({arguments})",
            [tag.pk, timezone.now(), 5, 0],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "$1" in plan  # a generic plan shows the parameters, a custom one the values
    connection.close()
    with transaction.atomic():
        assert len(listing[0:5]) == 1
        assert plan_cache_mode() == "auto"
    assert len(listing[0:5]) == 1
    assert plan_cache_mode() == "force_generic_plan"
    connection.close()
    settings.DATABASE_PREPARED_STATEMENTS = False
    assert len(listing[0:5]) == 1
    assert plan_cache_mode() == "auto" and statements() == {}
