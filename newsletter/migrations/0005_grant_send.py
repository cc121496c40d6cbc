from django.db import migrations

from articles.roles import EDITOR, grant_permissions


def grant(apps, schema_editor):
    grant_permissions(apps, {EDITOR: {"newsletter": ["send_issue"]}})


class Migration(migrations.Migration):
    dependencies = [("newsletter", "0004_send_permission")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
