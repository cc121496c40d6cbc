"""The newsroom's roles are groups; migrations grant them permissions with this.

The names are shown to staff in the admin, so they are French. Migrations written
before the rename (articles 0019) spell the English names they ran with; later ones
use these constants."""

JOURNALIST = "Journaliste"
EDITOR = "Éditeur"


def grant_permissions(apps, grants):
    """``grants``: {group name: {app label: [permission codenames]}}. Creates the
    groups and any missing permissions, so it works on a fresh database."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, by_app in grants.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codenames in by_app.items():
            permissions = Permission.objects.filter(
                content_type__app_label=app_label, codename__in=codenames
            )
            missing = set(codenames) - set(permissions.values_list("codename", flat=True))
            if missing:
                raise RuntimeError(f"Unknown permissions for {name}: {sorted(missing)}")
            group.permissions.add(*permissions)
