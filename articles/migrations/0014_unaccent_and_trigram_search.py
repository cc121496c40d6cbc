"""Search folds accents with PostgreSQL's unaccent dictionary (a text search
configuration, newsroom_french) instead of a hand-written translate() table,
and finds titles close to a misspelt query with pg_trgm."""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.contrib.postgres.indexes import OpClass
from django.db import migrations, models

import articles.search
from newsroom.extensions import RequireExtension


def create_search_objects(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        # Qualified names: index expressions run with a restricted search_path.
        cursor.execute("SELECT extnamespace::regnamespace::text FROM pg_extension "
                       "WHERE extname = 'unaccent'")
        schema = cursor.fetchone()[0]
        cursor.execute(
            "CREATE TEXT SEARCH CONFIGURATION newsroom_french (COPY = pg_catalog.french);"
            "ALTER TEXT SEARCH CONFIGURATION newsroom_french ALTER MAPPING FOR "
            f"hword, hword_part, word WITH {schema}.unaccent, french_stem;"
            # unaccent() is only STABLE (its rules file could change); pinning the
            # dictionary makes it safe to index. After changing unaccent.rules,
            # REINDEX article_title_trgm_idx.
            "CREATE FUNCTION newsroom_unaccent(text) RETURNS text "
            "LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS "
            f"$$SELECT {schema}.unaccent('{schema}.unaccent'::regdictionary, lower($1))$$;"
        )


def drop_search_objects(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "DROP FUNCTION IF EXISTS newsroom_unaccent(text);"
            "DROP TEXT SEARCH CONFIGURATION IF EXISTS newsroom_french;"
        )


class Migration(migrations.Migration):
    dependencies = [("articles", "0013_author_account_help")]

    operations = [
        RequireExtension("unaccent"),
        RequireExtension("pg_trgm"),
        migrations.RunPython(create_search_objects, drop_search_objects),
        migrations.RemoveIndex(model_name="article", name="article_search_idx"),
        migrations.RemoveField(model_name="article", name="search_vector"),
        migrations.AddField(
            model_name="article",
            name="search_vector",
            field=models.GeneratedField(
                db_persist=True,
                expression=articles.search.search_vector_expression(),
                output_field=django.contrib.postgres.search.SearchVectorField(),
            ),
        ),
        migrations.AddIndex(
            model_name="article",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["search_vector"], name="article_search_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="article",
            index=django.contrib.postgres.indexes.GistIndex(
                OpClass(articles.search.title_key(), name="gist_trgm_ops"),
                name="article_title_trgm_idx",
            ),
        ),
    ]
