"""The search column is kept in the article's row, compressed, instead of in
the TOAST table. The search walks the newest articles and tests each one's
vector (a common word) or reads the vectors of the matches (a rare one), then
ranks 200 of them: each vector read from the TOAST table cost an index lookup
and several chunks (about 7 buffers an article). Measured with 100,000
generated articles and make bench: 4.9 ms of database CPU per search before,
3.1 ms after; at 8 connections, p95 57.6 ms before, 44.8 ms after.

STORAGE MAIN keeps a value in the row, compressed, and moves it out only when
the row would not fit in a page otherwise. The UPDATE stores the existing
rows again (the column is generated: any update recomputes it); about three
minutes for 100,000 articles, during which articles can be read but an
article being saved waits."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("articles", "0025_article_tag_ids")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE articles_article ALTER COLUMN search_vector SET STORAGE MAIN",
            "ALTER TABLE articles_article ALTER COLUMN search_vector SET STORAGE EXTENDED",
        ),
        migrations.RunSQL(
            "UPDATE articles_article SET title = title", migrations.RunSQL.noop, elidable=True
        ),
    ]
