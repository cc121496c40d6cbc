"""The public pages' hand-written queries run as prepared statements.

Their SQL is written once per process (articles.models compiles it), and
PostgreSQL planned it again at every request: measured on 10,000 articles,
planning was 0.1 to 0.4 ms of each query, as much as running some of them.
``execute`` prepares a statement once per database session (PREPARE, then
EXECUTE with the values), in a session told to keep one generic plan per
statement (plan_cache_mode = force_generic_plan, set once per session).
Left to choose, PostgreSQL kept planning the statements whose LIMIT, OFFSET
or date are values: the home page's query cost 1.55 ms of the server's CPU
per run planned for its values, 0.70 ms with its generic plan (measured on
10,000 articles, 2 × 300 runs each). A generic plan suits each of these
statements whatever the values: each reads its rows from an index that
matches its conditions and order (a section's, a tag's or an author's
articles from that section's, tag's or author's entries), so its cost
follows the rows it returns, not how common the value is. Only prepared
statements (and PL/pgSQL's) follow the setting: the ORM's queries and the
search are planned for their values as before.

Prepared statements belong to the session, not to a transaction: a rollback
does not remove them (checked in tests/newsroom_tests/test_prepared.py). A new
connection (Django reconnects after CONN_MAX_AGE or an error) prepares again.
A pooler that shares sessions between clients (PgBouncer in transaction mode)
cannot keep them: DATABASE_PREPARED_STATEMENTS=false then runs the same SQL
unprepared. Nor are they prepared when connections are not kept between
requests (CONN_MAX_AGE 0): each would be prepared for one use. The search
is not prepared: the best plan for a word depends on how common the word is
(migration articles 0016), so it is planned each time."""

import functools
import hashlib
import re

from django.conf import settings
from django.db import DatabaseError

_PLACEHOLDER = re.compile(r"%([s%])")
_KNOWN = "_newsroom_prepared"
INVALID_STATEMENT_NAME = "26000"  # the statement is gone (DISCARD ALL, a pooler)


@functools.cache
def _statement(sql):
    """(name, PREPARE statement, EXECUTE statement) for ``sql`` written with
    %s placeholders, as Django's cursors take it."""
    count = 0

    def number(match):
        nonlocal count
        if match.group(1) == "%":
            return "%"
        count += 1
        return f"${count}"

    text = _PLACEHOLDER.sub(number, sql)
    name = "newsroom_" + hashlib.sha256(sql.encode()).hexdigest()[:20]
    arguments = f"({', '.join(['%s'] * count)})" if count else ""
    return name, f"PREPARE {name} AS {text}", f"EXECUTE {name}{arguments}"


def _prepared_names(connection):
    """The names prepared in ``connection``'s current session."""
    raw = connection.connection
    known = getattr(connection, _KNOWN, None)
    if known is None or known[0] is not raw:  # a new session
        known = (raw, set())
        setattr(connection, _KNOWN, known)
    return known[1]


def execute(connection, cursor, sql, params):
    """``cursor.execute(sql, params)``, ``sql`` prepared once per session of
    ``connection``. ``sql`` must be a constant text (compiled once): each new
    text is a new statement in every session."""
    if (
        not settings.DATABASE_PREPARED_STATEMENTS
        or connection.vendor != "postgresql"
        or not connection.settings_dict.get("CONN_MAX_AGE")
    ):
        cursor.execute(sql, params)
        return
    name, prepare, run = _statement(sql)
    prepared = _prepared_names(connection)
    _ask_generic_plans(connection, cursor, prepared)
    if name not in prepared:
        _prepare(connection, cursor, prepare)
        prepared.add(name)
    try:
        cursor.execute(run, params)
    except DatabaseError as error:
        # Removed behind Django's back (DISCARD ALL): prepared again, once,
        # where the failed statement has not aborted a transaction.
        cause = error.__cause__
        if getattr(cause, "pgcode", None) != INVALID_STATEMENT_NAME or connection.in_atomic_block:
            raise
        prepared.clear()
        _ask_generic_plans(connection, cursor, prepared)
        _prepare(connection, cursor, prepare)
        prepared.add(name)
        cursor.execute(run, params)


GENERIC_PLANS = "SET plan_cache_mode = force_generic_plan"


def _prepare(connection, cursor, prepare):
    """PREPARE on the driver's cursor: once per session, it is not one of the
    page's queries, and the query counts pinned in tests count the page's."""
    with connection.wrap_database_errors:
        cursor.cursor.execute(prepare)


def _ask_generic_plans(connection, cursor, prepared):
    """Generic plans for the session (see above), asked once, outside a
    transaction (a rollback would undo a SET, not a PREPARE), on the driver's
    cursor like PREPARE. A session reset (DISCARD ALL) undoes both: the
    names are forgotten then, this with them."""
    if GENERIC_PLANS not in prepared and not connection.in_atomic_block:
        with connection.wrap_database_errors:
            cursor.cursor.execute(GENERIC_PLANS)
        prepared.add(GENERIC_PLANS)
