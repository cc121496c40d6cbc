"""The content clock: one number that PostgreSQL advances, in the same
transaction, with every statement that changes what public pages show. The
full-page cache (newsroom.pagecache) keys pages by it, so a page is never
served from before a committed change, whatever made the change (the admin,
the ORM's update(), a management command, raw SQL, another machine)."""

from django.db import migrations

# Tables whose rows public pages, feeds, sitemaps or the newsletter archive show.
CONTENT_TABLES = [
    "articles_article",
    "articles_article_authors",
    "articles_article_tags",
    "articles_articleredirect",
    "articles_author",
    "articles_correction",
    "articles_section",
    "articles_spellingvariantgroup",
    "articles_tag",
    "newsletter_consenttext",
    "newsletter_issue",
    "newsletter_issuearticle",
]

FORWARD = """
CREATE TABLE newsroom_contentclock (
    id smallint PRIMARY KEY CHECK (id = 1),
    value bigint NOT NULL
);
-- Values come from a sequence, which never gives one twice, even when the
-- transaction that took it rolls back; the row makes it visible at commit.
CREATE SEQUENCE newsroom_contentclock_values;
INSERT INTO newsroom_contentclock VALUES (1, nextval('newsroom_contentclock_values'));
CREATE FUNCTION newsroom_content_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE newsroom_contentclock SET value = nextval('newsroom_contentclock_values')
    WHERE id = 1;
    RETURN NULL;
END $$;
""" + "".join(
    f"CREATE TRIGGER newsroom_content_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
    f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION newsroom_content_changed();\n"
    for table in CONTENT_TABLES
)

BACKWARD = "".join(
    f"DROP TRIGGER IF EXISTS newsroom_content_changed ON {table};\n" for table in CONTENT_TABLES
) + (
    "DROP FUNCTION IF EXISTS newsroom_content_changed(); DROP TABLE newsroom_contentclock;"
    "DROP SEQUENCE newsroom_contentclock_values;"
)


class Migration(migrations.Migration):
    dependencies = [
        ("newsroom", "0001_worker_heartbeat"),
        ("articles", "0015_fill_hero_image_dimensions"),
        ("newsletter", "0009_plain_text_fields"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
