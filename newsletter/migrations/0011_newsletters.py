"""Several newsletters (#11 §1). Everything that existed was about the one
newsletter there was: it becomes « L’essentiel », the default. Issues belong to
it; subscribers get their place on it as their status says (confirmed: active,
pending: waiting for confirmation, unsubscribed after confirming: left); their
consent log is kept as it is and attributed to it (erasures stay about the
whole address). Public pages show newsletters (the signup form, the archive):
their table advances the content clock (newsroom 0002)."""

import articles.fields
import django.contrib.postgres.fields
import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

from articles.roles import EDITOR, grant_permissions

DEFAULT = {
    "name": "L’essentiel",
    "slug": "l-essentiel",
    "description": "Chaque semaine, le meilleur de l’actualité de l’Asie centrale.",
}


def to_default_newsletter(apps, schema_editor):
    Newsletter = apps.get_model("newsletter", "Newsletter")
    Subscriber = apps.get_model("newsletter", "Subscriber")
    Subscription = apps.get_model("newsletter", "Subscription")
    Issue = apps.get_model("newsletter", "Issue")
    ConsentEvent = apps.get_model("newsletter", "ConsentEvent")
    default = Newsletter.objects.filter(is_default=True).first() or Newsletter.objects.create(
        **DEFAULT, is_public=True, is_default=True, position=1
    )
    Issue.objects.filter(newsletter__isnull=True).update(newsletter=default)
    places = []
    for subscriber in Subscriber.objects.filter(erased_at__isnull=True).iterator():
        if subscriber.status == "confirmed":
            status, since, until = "active", subscriber.confirmed_at, None
        elif subscriber.status == "pending":
            status, since, until = "pending", None, None
        elif subscriber.confirmed_at is not None:
            status, since, until = "left", subscriber.confirmed_at, subscriber.unsubscribed_at
        else:
            continue
        places.append(
            Subscription(
                subscriber=subscriber,
                newsletter=default,
                status=status,
                created_at=subscriber.created_at,
                subscribed_at=since or (subscriber.created_at if status == "active" else None),
                left_at=until,
            )
        )
    Subscription.objects.bulk_create(places, ignore_conflicts=True)
    # The events as they were, now saying which newsletter they were about.
    ConsentEvent.objects.filter(newsletter__isnull=True).exclude(kind="erased").update(
        newsletter=default
    )
    # The deferred foreign-key checks of these rows, now: the same transaction
    # then alters the issue table.
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    grant_permissions(
        apps,
        {
            EDITOR: {
                "newsletter": [
                    "add_newsletter", "change_newsletter", "view_newsletter",
                    "view_subscription",
                ]
            }
        },
    )


CLOCK = (
    "CREATE TRIGGER newsroom_content_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
    "ON newsletter_newsletter FOR EACH STATEMENT EXECUTE FUNCTION newsroom_content_changed();",
    "DROP TRIGGER IF EXISTS newsroom_content_changed ON newsletter_newsletter;",
)


class Migration(migrations.Migration):

    dependencies = [
        ('newsletter', '0010_french_spacing_on_save'),
        ('newsroom', '0002_content_clock'),
        ('articles', '0021_french_spacing_on_save'),
    ]

    operations = [
        migrations.AddField(
            model_name='consentevent',
            name='issue',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='newsletter.issue', verbose_name='depuis le numéro'),
        ),
        migrations.AddField(
            model_name='signuprequest',
            name='newsletter_ids',
            field=django.contrib.postgres.fields.ArrayField(base_field=models.BigIntegerField(), blank=True, default=list, size=None),
        ),
        migrations.AlterField(
            model_name='consentevent',
            name='method',
            field=models.CharField(blank=True, choices=[('link', 'Lien de désinscription (page)'), ('one-click', 'Désinscription en un clic (messagerie)'), ('admin', 'Par la rédaction (administration)'), ('erasure', 'Effacement des données'), ('preferences', 'Page des préférences (lien personnel)')], max_length=20, verbose_name='moyen'),
        ),
        migrations.CreateModel(
            name='Newsletter',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', articles.fields.PlainCharField(help_text='Affiché sur le formulaire et dans les e-mails.', max_length=100, verbose_name='nom')),
                ('slug', models.SlugField(help_text='Dans l’adresse de ses archives.', max_length=100, unique=True, verbose_name='adresse')),
                ('description', articles.fields.PlainTextField(blank=True, help_text='Une phrase sous son nom : ce qu’elle contient, à quel rythme.', verbose_name='description')),
                ('is_public', models.BooleanField(default=True, help_text='Proposée sur le formulaire d’inscription, archives publiques. Décochez pour une liste que seuls ses abonnés actuels voient (dans leurs préférences).', verbose_name='publique')),
                ('is_default', models.BooleanField(default=False, help_text='Cochée d’avance sur le formulaire sous les articles ; une seule newsletter l’est.', verbose_name='par défaut')),
                ('position', models.PositiveSmallIntegerField(default=0, verbose_name='ordre')),
            ],
            options={
                'verbose_name': 'liste de diffusion',
                'verbose_name_plural': 'listes de diffusion',
                'ordering': ['position', 'pk'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('is_default', True)), fields=('is_default',), name='one_default_newsletter')],
            },
        ),
        migrations.AddField(
            model_name='consentevent',
            name='newsletter',
            field=models.ForeignKey(blank=True, help_text='Vide : l’adresse entière (effacement).', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='newsletter.newsletter', verbose_name='newsletter'),
        ),
        migrations.AddField(
            model_name='issue',
            name='newsletter',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='issues', to='newsletter.newsletter', verbose_name='liste de diffusion'),
        ),
        migrations.CreateModel(
            name='Subscription',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('status', models.CharField(choices=[('pending', 'En attente de confirmation'), ('active', 'Abonné'), ('left', 'Désabonné')], default='pending', max_length=20, verbose_name='statut')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='demandé le')),
                ('subscribed_at', models.DateTimeField(blank=True, null=True, verbose_name='abonné le')),
                ('left_at', models.DateTimeField(blank=True, null=True, verbose_name='désabonné le')),
                ('newsletter', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='subscriptions', to='newsletter.newsletter', verbose_name='newsletter')),
                ('subscriber', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='subscriptions', to='newsletter.subscriber', verbose_name='abonné')),
            ],
            options={
                'verbose_name': 'abonnement',
                'verbose_name_plural': 'abonnements',
                'ordering': ['newsletter__position', 'newsletter__pk'],
                'indexes': [models.Index(fields=['newsletter', 'status'], name='subscription_state_idx')],
                'constraints': [models.UniqueConstraint(fields=('subscriber', 'newsletter'), name='subscription_once')],
            },
        ),
        migrations.RunSQL(*CLOCK),
        migrations.RunPython(to_default_newsletter, migrations.RunPython.noop),
        # No default: to_default_newsletter filled every row, with the
        # historical models. A callable default here would be called by
        # migrate, running today's models against this migration's tables.
        migrations.AlterField(
            model_name='issue',
            name='newsletter',
            field=models.ForeignKey(help_text='Les abonnés de cette newsletter la recevront.', on_delete=django.db.models.deletion.PROTECT, related_name='issues', to='newsletter.newsletter', verbose_name='liste de diffusion'),
        ),
    ]
