from django.db import migrations

from articles.roles import grant_permissions

# The group name as it was before articles 0019 renamed it.
EDITOR = "Editor"


def grant(apps, schema_editor):
    grant_permissions(apps, {EDITOR: {"newsletter": ["send_issue"]}})


class Migration(migrations.Migration):
    dependencies = [("newsletter", "0004_send_permission")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
