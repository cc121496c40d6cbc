from django.db import migrations


def end_links_at_publication(apps, schema_editor):
    # Preview links now end at the publication time; links of articles
    # published before this rule end at theirs.
    PreviewLink = apps.get_model("articles", "PreviewLink")
    for link in PreviewLink.objects.filter(
        revoked_at__isnull=True, article__status="published"
    ).select_related("article"):
        link.revoked_at = link.article.published_at
        link.save(update_fields=["revoked_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0011_plain_text_fields"),
    ]

    operations = [
        migrations.RunPython(end_links_at_publication, migrations.RunPython.noop),
    ]
