from django.db import migrations, models

from articles.sanitizer import html_to_text


def backfill(apps, schema_editor):
    """Give every article the plain text of its body, as saving now does."""
    Article = apps.get_model("articles", "Article")
    batch = []
    for article in Article.objects.only("pk", "body").iterator(chunk_size=1000):
        article.body_text = html_to_text(article.body)
        batch.append(article)
        if len(batch) == 1000:
            Article.objects.bulk_update(batch, ["body_text"])
            batch = []
    Article.objects.bulk_update(batch, ["body_text"])


class Migration(migrations.Migration):
    dependencies = [("articles", "0016_search_vector_statistics")]

    operations = [
        migrations.AddField(
            model_name="article",
            name="body_text",
            field=models.TextField(
                blank=True, default="", editable=False, verbose_name="texte brut"
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
