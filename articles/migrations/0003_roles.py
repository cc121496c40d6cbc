"""The newsroom's two roles, as groups with their permissions."""

from django.db import migrations

from articles.roles import grant_permissions

JOURNALIST = {
    "articles": [
        "add_article", "change_article", "view_article", "delete_article",
        "view_section", "view_author", "add_author",
        "view_articlerevision",
        "add_previewlink", "change_previewlink", "view_previewlink",
        "view_correction",
    ],
}
EDITOR = {
    "articles": [
        "add_article", "change_article", "view_article", "delete_article", "publish_article",
        "add_section", "change_section", "view_section",
        "add_author", "change_author", "view_author",
        "view_articlerevision",
        "view_articleredirect", "delete_articleredirect",
        "add_correction", "change_correction", "view_correction", "delete_correction",
        "add_previewlink", "change_previewlink", "view_previewlink", "delete_previewlink",
    ],
    "newsletter": ["view_subscriber", "change_subscriber"],
}
ROLES = {"Journalist": JOURNALIST, "Editor": EDITOR}


def create_roles(apps, schema_editor):
    grant_permissions(apps, ROLES)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0002_editorial_workflow"),
        ("newsletter", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
