"""The search reads a table of its own: ``articles_article_search`` holds, for
each article, its search vector and the moment it became public
(``public_from``: its publication time when it is published, else NULL, as
the links of migration 0027), and nothing else. The vector leaves the
article's row.

Why. The search walks the newest public articles and tests each one's vector
(a common word), or reads the matches from the GIN index (a rare one), then
ranks the 200 most recent matches. In the article's row the vector (about
7 kB for a long report; pglz does not compress it) shared a page with the
card columns and the body: since migration 0028 keeps the card columns in the
row, most long articles' vectors had to go to the TOAST table, and each one
the search tested cost an index lookup and several chunks. Alone in its row,
a vector of up to a page stays there (STORAGE MAIN): on 100,000 generated
articles, 72 % of the vectors against 41 % in the article's row, and the
20 benchmark searches took 3.05 ms each instead of 4.50 ms (psql, median of
five runs). Cards keep their columns in the row, now with room to spare.

The table is not a model: PostgreSQL alone writes it, from triggers on the
article table, so every way an article changes keeps it exact (the admin,
save(), update(), bulk_create(), raw SQL, a deletion, a TRUNCATE such as a
test's flush):
- an article written, or its title, standfirst or body changed, gets its
  vector computed again, with the expression of the column it replaces
  (search.search_vector_expression): title, then standfirst, then body;
- a change of status or publication time alone changes ``public_from`` only:
  publishing or scheduling no longer computes the vector again (a generated
  column was computed on every update of the row);
- a deleted article's entry goes with it (and an article given another id
  takes its entry along), and a TRUNCATE empties the table.
Each write happens in the statement that changes the article, so a search
sees the article and its entry at one moment.

The search's statistics target stays at 10,000 words (migration 0016), on
the new column. Articles can be read throughout; the articles' table is
locked against writes from the copy on, so that no change falls between the
copy and the triggers. Migration 0030 stores the rows again without the
dropped column's bytes."""

from django.db import migrations

VECTOR = """(
    setweight(to_tsvector('newsroom_french'::regconfig, COALESCE({row}.title, '')), 'A')
    || setweight(to_tsvector('newsroom_french'::regconfig, COALESCE({row}.standfirst, '')), 'B')
    || setweight(to_tsvector('newsroom_french'::regconfig, COALESCE({row}.body, '')), 'C')
)"""
PUBLIC_FROM = "CASE WHEN {row}.status = 'published' THEN {row}.published_at END"

FORWARD = f"""
-- No article is written between the copy and the triggers (reads go on).
LOCK TABLE articles_article IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE articles_article_search (
    article_id bigint PRIMARY KEY,
    public_from timestamptz,
    vector tsvector NOT NULL
);
ALTER TABLE articles_article_search ALTER COLUMN vector SET STORAGE MAIN;
ALTER TABLE articles_article_search ALTER COLUMN vector SET STATISTICS 1000;

INSERT INTO articles_article_search (article_id, public_from, vector)
SELECT a.id, {PUBLIC_FROM.format(row="a")}, a.search_vector FROM articles_article a;

-- The search's order (newest first) and its GIN index, both over public
-- articles only.
CREATE INDEX articles_article_search_listing_idx
    ON articles_article_search (public_from DESC, article_id DESC)
    WHERE public_from IS NOT NULL;
CREATE INDEX articles_article_search_vector_idx
    ON articles_article_search USING gin (vector)
    WHERE public_from IS NOT NULL;

CREATE FUNCTION articles_article_search_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM articles_article_search WHERE article_id = OLD.id;
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.id <> NEW.id THEN
        DELETE FROM articles_article_search WHERE article_id = OLD.id;
    END IF;
    IF TG_OP = 'INSERT'
        OR OLD.id <> NEW.id
        OR OLD.title IS DISTINCT FROM NEW.title
        OR OLD.standfirst IS DISTINCT FROM NEW.standfirst
        OR OLD.body IS DISTINCT FROM NEW.body THEN
        INSERT INTO articles_article_search (article_id, public_from, vector)
        VALUES (NEW.id, {PUBLIC_FROM.format(row="NEW")}, {VECTOR.format(row="NEW")})
        ON CONFLICT (article_id) DO UPDATE
        SET public_from = EXCLUDED.public_from, vector = EXCLUDED.vector;
    ELSE
        UPDATE articles_article_search SET public_from = {PUBLIC_FROM.format(row="NEW")}
        WHERE article_id = NEW.id;
        IF NOT FOUND THEN  -- never expected: the entry is made again whole
            INSERT INTO articles_article_search (article_id, public_from, vector)
            VALUES (NEW.id, {PUBLIC_FROM.format(row="NEW")}, {VECTOR.format(row="NEW")});
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION articles_article_search_emptied() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE articles_article_search;
    RETURN NULL;
END $$;

CREATE TRIGGER articles_article_search_written AFTER INSERT OR DELETE
ON articles_article FOR EACH ROW EXECUTE FUNCTION articles_article_search_entry();

CREATE TRIGGER articles_article_search_changed
AFTER UPDATE OF id, title, standfirst, body, status, published_at ON articles_article
FOR EACH ROW WHEN (
    OLD.id <> NEW.id
    OR OLD.title IS DISTINCT FROM NEW.title
    OR OLD.standfirst IS DISTINCT FROM NEW.standfirst
    OR OLD.body IS DISTINCT FROM NEW.body
    OR OLD.status IS DISTINCT FROM NEW.status
    OR OLD.published_at IS DISTINCT FROM NEW.published_at
)
EXECUTE FUNCTION articles_article_search_entry();

CREATE TRIGGER articles_article_search_emptied AFTER TRUNCATE
ON articles_article FOR EACH STATEMENT EXECUTE FUNCTION articles_article_search_emptied();

ANALYZE articles_article_search;
"""

BACKWARD = """
DROP TRIGGER IF EXISTS articles_article_search_written ON articles_article;
DROP TRIGGER IF EXISTS articles_article_search_changed ON articles_article;
DROP TRIGGER IF EXISTS articles_article_search_emptied ON articles_article;
DROP FUNCTION IF EXISTS articles_article_search_entry();
DROP FUNCTION IF EXISTS articles_article_search_emptied();
DROP TABLE IF EXISTS articles_article_search;
-- The generated column is back (RemoveField reversed): its settings of
-- migrations 0016 and 0026, and the rows stored again with them.
ALTER TABLE articles_article ALTER COLUMN search_vector SET STATISTICS 1000;
ALTER TABLE articles_article ALTER COLUMN search_vector SET STORAGE MAIN;
UPDATE articles_article SET title = title;
"""


class Migration(migrations.Migration):
    dependencies = [("articles", "0028_card_columns_inline")]

    operations = [
        migrations.RunSQL(FORWARD, BACKWARD),
        migrations.RemoveIndex(model_name="article", name="article_search_idx"),
        migrations.RemoveField(model_name="article", name="search_vector"),
    ]
