"""Delete signups that were never confirmed (no consent ever existed), and old
signup-throttle records. Run it daily (cron, systemd timer)."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand

from newsletter.models import SignupAttempt, Subscriber


class Command(BaseCommand):
    help = "Supprime les inscriptions jamais confirmées plus anciennes que N jours."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=settings.NEWSLETTER_PENDING_DAYS,
            help="Âge minimum, en jours (défaut : NEWSLETTER_PENDING_DAYS).",
        )

    def handle(self, days, **options):
        purged = Subscriber.objects.purge_unconfirmed(timedelta(days=days))
        attempts = SignupAttempt.objects.purge()
        self.stdout.write(
            f"{purged} inscription(s) non confirmée(s) de plus de {days} jours supprimée(s) ; "
            f"{attempts} trace(s) de limitation effacée(s)."
        )
