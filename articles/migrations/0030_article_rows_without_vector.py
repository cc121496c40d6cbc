"""The articles' rows are stored again, without the bytes of the search vector
that migration 0029 moved to its own table: a dropped column stays in the rows
it was in until they are written again, and long articles' rows kept a page
each. Its own migration, so that articles can be read while it runs (0029's
DROP COLUMN locks the table until its transaction ends): each row is locked
only against writes, for the time of the update (10 s for 100,000 generated
articles, measured on the benchmark database). No row trigger of the article table does anything for it: the
search entries' fires for a changed id only, the links' (0027) for a changed
status or date."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("articles", "0029_article_search_table")]

    operations = [
        migrations.RunSQL(
            "UPDATE articles_article SET id = id", migrations.RunSQL.noop, elidable=True
        ),
    ]
