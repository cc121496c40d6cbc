from django.db import migrations, models

from articles.sanitizer import html_to_text
from articles.typography import french_spacing


def backfill(apps, schema_editor):
    """Count words, and give existing bodies the French spacing that saving now
    applies."""
    Article = apps.get_model("articles", "Article")
    batch = []
    for article in Article.objects.only("pk", "standfirst", "body").iterator(chunk_size=500):
        article.word_count = len(article.standfirst.split()) + len(
            html_to_text(article.body).split()
        )
        article.body = french_spacing(article.body)
        batch.append(article)
        if len(batch) == 500:
            Article.objects.bulk_update(batch, ["word_count", "body"])
            batch = []
    Article.objects.bulk_update(batch, ["word_count", "body"])


class Migration(migrations.Migration):
    dependencies = [("articles", "0006_roles_for_tags_and_spellings")]

    operations = [
        migrations.AddField(
            model_name="article",
            name="word_count",
            field=models.PositiveIntegerField(
                default=0, editable=False, verbose_name="nombre de mots"
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
