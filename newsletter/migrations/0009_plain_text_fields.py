import articles.fields
from django.db import migrations

APP = "newsletter"
# Consent texts are left as they were agreed to: only new versions are normalised.
PLAIN_FIELDS = {"Issue": [("subject", "line"), ("introduction", "text")]}



def clean_existing_rows(apps, schema_editor):
    from articles.plaintext import normalize_stored_rows

    normalize_stored_rows(apps, APP, PLAIN_FIELDS)

class Migration(migrations.Migration):

    dependencies = [
        ('newsletter', '0008_signup_requests'),
    ]

    operations = [
        migrations.AlterField(
            model_name='consenttext',
            name='text',
            field=articles.fields.PlainTextField(help_text='Affiché sous le formulaire d’inscription ; chaque modification crée une nouvelle version, les anciennes restent dans le registre.', verbose_name='texte du consentement'),
        ),
        migrations.AlterField(
            model_name='issue',
            name='introduction',
            field=articles.fields.PlainTextField(blank=True, help_text='Quelques lignes avant les articles. Séparez les paragraphes par une ligne vide.', verbose_name='introduction'),
        ),
        migrations.AlterField(
            model_name='issue',
            name='subject',
            field=articles.fields.PlainCharField(help_text='L’objet de l’e-mail, et le titre de l’archive.', max_length=200, verbose_name='objet'),
        ),
        migrations.RunPython(clean_existing_rows, migrations.RunPython.noop),
    ]
