from django.db import migrations

from articles.roles import grant_permissions

# The group names as they were before articles 0019 renamed them.
JOURNALIST = "Journalist"
EDITOR = "Editor"

GRANTS = {
    JOURNALIST: {"articles": ["view_tag", "view_spellingvariantgroup"]},
    EDITOR: {
        "articles": [
            "add_tag", "change_tag", "view_tag", "delete_tag",
            "add_spellingvariantgroup", "change_spellingvariantgroup",
            "view_spellingvariantgroup", "delete_spellingvariantgroup",
        ]
    },
}


def grant(apps, schema_editor):
    grant_permissions(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [("articles", "0005_spelling_variants")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
