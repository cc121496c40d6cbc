import django.db.models.functions.text
from django.db import migrations, models


def blank_erased_addresses(apps, schema_editor):
    # Erased rows used to carry a made-up address that a reader could sign up
    # with first, which then blocked the erasure; they now carry none.
    Subscriber = apps.get_model("newsletter", "Subscriber")
    Subscriber.objects.filter(erased_at__isnull=False).update(email="")


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0006_delivery_skipped"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="subscriber",
            name="subscriber_email_unique_ci",
        ),
        migrations.AddConstraint(
            model_name="subscriber",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("email"),
                condition=models.Q(("erased_at__isnull", True)),
                name="subscriber_email_unique_ci",
            ),
        ),
        migrations.RunPython(blank_erased_addresses, migrations.RunPython.noop),
    ]
