"""The two groups get the French names staff read in the admin. Renaming keeps
their permissions and members."""

from django.db import migrations

RENAMES = {"Journalist": "Journaliste", "Editor": "Éditeur"}


def rename(apps, mapping):
    Group = apps.get_model("auth", "Group")
    for old, new in mapping.items():
        if not Group.objects.filter(name=new).exists():
            Group.objects.filter(name=old).update(name=new)


def forwards(apps, schema_editor):
    rename(apps, RENAMES)


def backwards(apps, schema_editor):
    rename(apps, {new: old for old, new in RENAMES.items()})


class Migration(migrations.Migration):
    # After every migration that grants permissions to the groups by their old names.
    dependencies = [
        ("articles", "0018_article_latest_by"),
        ("newsletter", "0009_plain_text_fields"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
