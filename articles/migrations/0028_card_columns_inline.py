"""The columns article cards show are kept in the article's row.

Since migration 0026 keeps the search vector in the row (STORAGE MAIN), a
row with a long vector is over the size at which PostgreSQL starts moving
values out: it then moved out every other value it could, largest first,
down to the title and the slug, before it would touch the vector. Every card
of every listing read its title, slug, standfirst, image and renditions from
the TOAST table: measured with EXPLAIN (ANALYZE, BUFFERS, SERIALIZE) on
10,000 generated articles, the home page's per-section query read 405 TOAST
buffers to send its 24 cards, a section's page 324 for 20; none with this
migration, and a third of the time to execute and send them.

STORAGE MAIN on the card columns puts them with the vector: the body and its
text (read by the article page and the search excerpts alone) go out first;
then, if the row is still over a page, the largest MAIN value, the vector.

The UPDATE stores the existing rows again (a new value for each column: an
unchanged one would keep its place in the TOAST table). As in 0026, the
generated vector is computed again: about three minutes for 100,000
articles."""

from django.db import migrations

CARD_TEXT_COLUMNS = ("title", "slug", "standfirst", "hero_image", "hero_image_alt")
COLUMNS = (*CARD_TEXT_COLUMNS, "hero_renditions")


def _storage(kind):
    changes = ", ".join(f"ALTER COLUMN {column} SET STORAGE {kind}" for column in COLUMNS)
    return f"ALTER TABLE articles_article {changes}"


STORE_AGAIN = (
    "UPDATE articles_article SET {}, hero_renditions = hero_renditions::text::jsonb".format(
        ", ".join(f"{column} = {column} || ''" for column in CARD_TEXT_COLUMNS)
    )
)


class Migration(migrations.Migration):
    dependencies = [("articles", "0027_listing_links")]

    operations = [
        migrations.RunSQL(_storage("MAIN"), _storage("EXTENDED")),
        migrations.RunSQL(STORE_AGAIN, migrations.RunSQL.noop, elidable=True),
    ]
