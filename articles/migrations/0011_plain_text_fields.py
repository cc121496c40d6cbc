import articles.fields
from django.db import migrations

APP = "articles"
PLAIN_FIELDS = {'Section': [('name', 'line'), ('description', 'text')], 'Author': [('name', 'line'), ('bio', 'text')], 'Tag': [('name', 'line')], 'Article': [('title', 'line'), ('standfirst', 'text'), ('hero_image_alt', 'line'), ('hero_image_caption', 'line'), ('hero_image_credit', 'line')], 'ArticleRevision': [('note', 'line')], 'Correction': [('text', 'text')], 'PreviewLink': [('recipient', 'line')], 'SpellingVariantGroup': [('spellings', 'text'), ('note', 'line')]}



def clean_existing_rows(apps, schema_editor):
    from articles.plaintext import normalize_stored_rows

    normalize_stored_rows(apps, APP, PLAIN_FIELDS)

class Migration(migrations.Migration):

    dependencies = [
        ('articles', '0010_featured_index'),
    ]

    operations = [
        migrations.AlterField(
            model_name='article',
            name='hero_image_alt',
            field=articles.fields.PlainCharField(blank=True, help_text='Ce que montre l’image, pour les lecteurs qui ne la voient pas.', max_length=300, verbose_name='texte alternatif de l’image'),
        ),
        migrations.AlterField(
            model_name='article',
            name='hero_image_caption',
            field=articles.fields.PlainCharField(blank=True, help_text='Affichée sous l’image : nommez les personnes et le lieu.', max_length=300, verbose_name='légende'),
        ),
        migrations.AlterField(
            model_name='article',
            name='hero_image_credit',
            field=articles.fields.PlainCharField(blank=True, help_text='Photographe ou agence.', max_length=150, verbose_name='crédit'),
        ),
        migrations.AlterField(
            model_name='article',
            name='standfirst',
            field=articles.fields.PlainTextField(help_text='Un paragraphe qui résume l’article, en texte simple, sous le titre.', verbose_name='chapô'),
        ),
        migrations.AlterField(
            model_name='article',
            name='title',
            field=articles.fields.PlainCharField(max_length=200, verbose_name='titre'),
        ),
        migrations.AlterField(
            model_name='articlerevision',
            name='note',
            field=articles.fields.PlainCharField(blank=True, max_length=200, verbose_name='note'),
        ),
        migrations.AlterField(
            model_name='author',
            name='bio',
            field=articles.fields.PlainTextField(blank=True, help_text='Quelques lignes sur l’auteur, publiques.', verbose_name='présentation'),
        ),
        migrations.AlterField(
            model_name='author',
            name='name',
            field=articles.fields.PlainCharField(max_length=150, verbose_name='nom'),
        ),
        migrations.AlterField(
            model_name='correction',
            name='text',
            field=articles.fields.PlainTextField(help_text='Ce qui était faux et ce qui a été corrigé, tel que les lecteurs le liront.', verbose_name='correction'),
        ),
        migrations.AlterField(
            model_name='previewlink',
            name='recipient',
            field=articles.fields.PlainCharField(help_text='La personne à qui vous envoyez ce lien (une source, un traducteur…).', max_length=150, verbose_name='pour qui'),
        ),
        migrations.AlterField(
            model_name='section',
            name='description',
            field=articles.fields.PlainTextField(blank=True, help_text='Une phrase ou deux, affichées en tête de la page de la rubrique.', verbose_name='description'),
        ),
        migrations.AlterField(
            model_name='section',
            name='name',
            field=articles.fields.PlainCharField(max_length=100, verbose_name='nom'),
        ),
        migrations.AlterField(
            model_name='spellingvariantgroup',
            name='note',
            field=articles.fields.PlainCharField(blank=True, help_text='Par exemple : pays, capitale.', max_length=200, verbose_name='note'),
        ),
        migrations.AlterField(
            model_name='spellingvariantgroup',
            name='spellings',
            field=articles.fields.PlainTextField(help_text='Les graphies équivalentes, séparées par des virgules ou une par ligne. Un mot par graphie ; les accents et majuscules sont ignorés.', verbose_name='orthographes'),
        ),
        migrations.AlterField(
            model_name='tag',
            name='name',
            field=articles.fields.PlainCharField(max_length=100, unique=True, verbose_name='nom'),
        ),
        migrations.RunPython(clean_existing_rows, migrations.RunPython.noop),
    ]
