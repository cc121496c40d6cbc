"""The first version of the consent text, the log for subscribers who signed up
before the log existed, and the editors' rights on newsletters."""

from django.db import migrations

from articles.roles import grant_permissions

# The group name as it was before articles 0019 renamed it.
EDITOR = "Editor"

FIRST_TEXT = (
    "En vous inscrivant, vous acceptez de recevoir la newsletter de la rédaction par "
    "e-mail, environ une fois par semaine. Votre adresse ne sert qu’à cet envoi et "
    "n’est jamais cédée. Chaque e-mail contient un lien pour vous désinscrire en un "
    "clic ; vous pouvez aussi demander l’accès à vos données ou leur effacement en "
    "répondant à la newsletter."
)

GRANTS = {
    EDITOR: {
        "newsletter": [
            "view_subscriber", "change_subscriber",
            "add_issue", "change_issue", "view_issue", "delete_issue",
            "add_issuearticle", "change_issuearticle", "view_issuearticle",
            "delete_issuearticle",
            "view_consenttext", "add_consenttext",
            "view_consentevent", "view_delivery",
        ]
    },
}


def forwards(apps, schema_editor):
    ConsentText = apps.get_model("newsletter", "ConsentText")
    ConsentEvent = apps.get_model("newsletter", "ConsentEvent")
    Subscriber = apps.get_model("newsletter", "Subscriber")
    text = ConsentText.objects.filter(version=1).first() or ConsentText.objects.create(
        version=1, text=FIRST_TEXT
    )
    for subscriber in Subscriber.objects.filter(consent_events__isnull=True):
        ConsentEvent.objects.create(
            subscriber=subscriber, kind="requested", at=subscriber.created_at,
            source=subscriber.source, consent_text=text,
        )
        if subscriber.confirmed_at:
            ConsentEvent.objects.create(
                subscriber=subscriber, kind="confirmed", at=subscriber.confirmed_at,
                source=subscriber.source, consent_text=text,
            )
    grant_permissions(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0002_consent_and_issues"),
        ("articles", "0008_listing_index"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
