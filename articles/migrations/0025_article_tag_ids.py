"""Each article row carries the ids of its tags (``tag_ids``), kept by
PostgreSQL from articles_article_tags, so « À lire aussi » ranks its candidates
from the rows it walks instead of two lookups in the tags table per candidate
(measured on 3,000 generated articles: 6.7 ms to execute, 0.6 ms with this
column and the covering index below).

The column is not a model field: PostgreSQL alone writes it, after every
statement that changes the article-tag links, whatever made the change (the
admin, the ORM's add/remove/set/clear, bulk_create, a tag's deletion, raw SQL,
TRUNCATE). As a field, Article.save() would write back the list an instance
read before its tags changed."""

from django.db import migrations

FORWARD = """
ALTER TABLE articles_article ADD COLUMN tag_ids bigint[] NOT NULL DEFAULT '{}';
UPDATE articles_article a SET tag_ids = ARRAY(
    SELECT t.tag_id FROM articles_article_tags t WHERE t.article_id = a.id ORDER BY t.tag_id
) WHERE EXISTS (SELECT 1 FROM articles_article_tags t WHERE t.article_id = a.id);

CREATE FUNCTION articles_article_tag_ids() RETURNS trigger LANGUAGE plpgsql AS $$
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
    ELSE
        UPDATE articles_article a SET tag_ids = ARRAY(
            SELECT t.tag_id FROM articles_article_tags t WHERE t.article_id = a.id ORDER BY t.tag_id
        ) WHERE a.id IN (
            SELECT article_id FROM old_links UNION SELECT article_id FROM new_links
        );
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER articles_article_tag_ids_insert AFTER INSERT ON articles_article_tags
REFERENCING NEW TABLE AS new_links
FOR EACH STATEMENT EXECUTE FUNCTION articles_article_tag_ids();
CREATE TRIGGER articles_article_tag_ids_update AFTER UPDATE ON articles_article_tags
REFERENCING OLD TABLE AS old_links NEW TABLE AS new_links
FOR EACH STATEMENT EXECUTE FUNCTION articles_article_tag_ids();
CREATE TRIGGER articles_article_tag_ids_delete AFTER DELETE ON articles_article_tags
REFERENCING OLD TABLE AS old_links
FOR EACH STATEMENT EXECUTE FUNCTION articles_article_tag_ids();
CREATE TRIGGER articles_article_tag_ids_truncate AFTER TRUNCATE ON articles_article_tags
FOR EACH STATEMENT EXECUTE FUNCTION articles_article_tag_ids();

-- The candidates of « À lire aussi » are read from this index alone (an
-- index-only scan): the newest published articles, their section and tags.
CREATE INDEX article_related_idx ON articles_article (status, published_at DESC)
INCLUDE (id, section_id, tag_ids);
"""

BACKWARD = """
DROP INDEX IF EXISTS article_related_idx;
DROP TRIGGER IF EXISTS articles_article_tag_ids_insert ON articles_article_tags;
DROP TRIGGER IF EXISTS articles_article_tag_ids_update ON articles_article_tags;
DROP TRIGGER IF EXISTS articles_article_tag_ids_delete ON articles_article_tags;
DROP TRIGGER IF EXISTS articles_article_tag_ids_truncate ON articles_article_tags;
DROP FUNCTION IF EXISTS articles_article_tag_ids();
ALTER TABLE articles_article DROP COLUMN IF EXISTS tag_ids;
"""


class Migration(migrations.Migration):
    dependencies = [("articles", "0024_read_counts")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
