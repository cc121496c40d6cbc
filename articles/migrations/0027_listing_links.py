"""The links of articles to their tags, authors and translators carry the
moment their article became public (``public_from``: its publication time when
it is published, else NULL), kept by PostgreSQL, with an index per link table
in the listings' order. A tag's or an author's page then reads its window and
its count from that index alone, in as many entries as it shows or counts
(measured on 10,000 generated articles: counting a tag's articles walked all
10,000 published ones, 4 ms, and its page walked the newest articles until it
had found twenty of that tag).

The column is not a model field: PostgreSQL alone writes it.
- A link gets its article's value when it is written (BEFORE INSERT, or an
  UPDATE that moves it to another article). The article's row is read FOR
  SHARE: a concurrent change of its status or date waits for the link's
  transaction, or the link waits for the change and reads it. Two links
  added to one article at once wait for each other the same way, so the tag
  list of migration 0025 sees both (before, the second transaction's list
  left out the first's tag).
- A change of an article's status or publication time is copied to its links
  (AFTER UPDATE, for the rows where either changed), whatever makes it: the
  admin, an action, update(), raw SQL.
A deleted article's links go with it (the foreign keys cascade, as before).

The article trigger changes links only in ``public_from``: the tag_ids trigger
of migration 0025 now rebuilds the lists of the articles whose links an update
moved, and no others, so an article's publication does not rebuild its tag
list."""

from importlib import import_module

from django.db import migrations

LINK_TABLES = ("articles_article_tags", "articles_article_authors", "articles_article_translators")
OWNER_COLUMNS = {
    "articles_article_tags": "tag_id",
    "articles_article_authors": "author_id",
    "articles_article_translators": "author_id",
}

FUNCTIONS = """
CREATE FUNCTION articles_link_public_from() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT CASE WHEN a.status = 'published' THEN a.published_at END INTO NEW.public_from
    FROM articles_article a WHERE a.id = NEW.article_id FOR SHARE;
    RETURN NEW;
END $$;

CREATE FUNCTION articles_article_public_from() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    visible_from timestamptz := CASE WHEN NEW.status = 'published' THEN NEW.published_at END;
BEGIN
    UPDATE articles_article_tags SET public_from = visible_from WHERE article_id = NEW.id;
    UPDATE articles_article_authors SET public_from = visible_from WHERE article_id = NEW.id;
    UPDATE articles_article_translators SET public_from = visible_from WHERE article_id = NEW.id;
    RETURN NULL;
END $$;

CREATE TRIGGER articles_article_public_from AFTER UPDATE OF status, published_at
ON articles_article FOR EACH ROW
WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.published_at IS DISTINCT FROM NEW.published_at)
EXECUTE FUNCTION articles_article_public_from();

CREATE OR REPLACE FUNCTION articles_article_tag_ids() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE articles_article SET tag_ids = '{}' WHERE tag_ids <> '{}';
    ELSIF TG_OP = 'INSERT' THEN
        UPDATE articles_article a SET tag_ids = ARRAY(
            SELECT t.tag_id FROM articles_article_tags t WHERE t.article_id = a.id ORDER BY t.tag_id
        ) WHERE a.id IN (SELECT article_id FROM new_links);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE articles_article a SET tag_ids = ARRAY(
            SELECT t.tag_id FROM articles_article_tags t WHERE t.article_id = a.id ORDER BY t.tag_id
        ) WHERE a.id IN (SELECT article_id FROM old_links);
    ELSE  -- only the articles whose links moved, not those whose public_from changed
        UPDATE articles_article a SET tag_ids = ARRAY(
            SELECT t.tag_id FROM articles_article_tags t WHERE t.article_id = a.id ORDER BY t.tag_id
        ) WHERE a.id IN (
            SELECT moved.article_id FROM (
                (SELECT article_id, tag_id FROM old_links EXCEPT SELECT article_id, tag_id FROM new_links)
                UNION ALL
                (SELECT article_id, tag_id FROM new_links EXCEPT SELECT article_id, tag_id FROM old_links)
            ) moved
        );
    END IF;
    RETURN NULL;
END $$;
"""


_0025 = import_module("articles.migrations.0025_article_tag_ids").FORWARD
_TAG_IDS_FUNCTION_0025 = _0025[_0025.index("CREATE FUNCTION") : _0025.index("END $$;") + 7]


def _forward():
    statements = []
    for table in LINK_TABLES:
        statements += [
            f"ALTER TABLE {table} ADD COLUMN public_from timestamptz;",
            f"""UPDATE {table} link SET public_from = a.published_at FROM articles_article a
                WHERE a.id = link.article_id AND a.status = 'published';""",
        ]
    statements.append(FUNCTIONS)
    for table in LINK_TABLES:
        owner = OWNER_COLUMNS[table]
        statements += [
            f"""CREATE TRIGGER articles_link_public_from BEFORE INSERT OR UPDATE OF article_id
                ON {table} FOR EACH ROW EXECUTE FUNCTION articles_link_public_from();""",
            # A listing's window and count, newest first as the listings sort.
            f"""CREATE INDEX {table}_listing_idx
                ON {table} ({owner}, public_from DESC, article_id DESC)
                WHERE public_from IS NOT NULL;""",
        ]
    return "\n".join(statements)


def _backward():
    statements = [
        "DROP TRIGGER IF EXISTS articles_article_public_from ON articles_article;",
        # The tag_ids function as migration 0025 made it.
        _TAG_IDS_FUNCTION_0025.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"),
    ]
    for table in LINK_TABLES:
        statements += [
            f"DROP TRIGGER IF EXISTS articles_link_public_from ON {table};",
            f"DROP INDEX IF EXISTS {table}_listing_idx;",
            f"ALTER TABLE {table} DROP COLUMN IF EXISTS public_from;",
        ]
    statements += [
        "DROP FUNCTION IF EXISTS articles_article_public_from();",
        "DROP FUNCTION IF EXISTS articles_link_public_from();",
    ]
    return "\n".join(statements)


class Migration(migrations.Migration):
    dependencies = [("articles", "0026_search_vector_inline")]

    operations = [migrations.RunSQL(_forward(), _backward())]
