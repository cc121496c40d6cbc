"""Read the bounce mailbox: delivery status notifications (RFC 3464) and
feedback reports become bounces and complaints (newsletter/bounces.py). Run it
every few minutes (cron, a systemd timer); a message read twice counts once."""

import imaplib
import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import InterfaceError, OperationalError, transaction

from newsletter.bounces import read_mailbox, record_report_message

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Lit la boîte des retours (rebonds, plaintes) : BOUNCE_MAILBOX_URL, ou --maildir. "
        "Un même retour n’est compté qu’une fois."
    )

    def add_arguments(self, parser):
        parser.add_argument("--maildir", help="Chemin d’une boîte Maildir (au lieu de l’URL).")
        parser.add_argument(
            "--url", help="maildir:///chemin, imaps://utilisateur:mot-de-passe@hôte/INBOX"
        )
        parser.add_argument(
            "--all", action="store_true", help="Relire aussi les messages déjà lus."
        )

    def handle(self, *args, maildir=None, url=None, all=False, **options):
        url = maildir or url or settings.BOUNCE_MAILBOX_URL
        if not url:
            raise CommandError("Indiquez la boîte : BOUNCE_MAILBOX_URL, --url ou --maildir.")
        read = ignored = new = unreadable = 0
        try:
            for raw, mark_seen in read_mailbox(url, include_seen=all):
                try:
                    # Recorded whole or not at all.
                    with transaction.atomic():
                        outcome = record_report_message(raw)
                except (OperationalError, InterfaceError):
                    raise  # no database: the message stays unread for the next run
                except Exception:
                    # A message nobody can record would stop every later run on
                    # it, and the messages after it would never be read.
                    logger.exception(
                        "A message of the bounce mailbox could not be recorded: set aside."
                    )
                    unreadable += 1
                else:
                    if outcome.is_report:
                        read += 1
                        new += outcome.new_events
                    else:
                        ignored += 1
                mark_seen()
        except (OSError, ValueError, imaplib.IMAP4.error) as error:
            raise CommandError(f"Boîte illisible : {error}") from error
        except (OperationalError, InterfaceError) as error:
            raise CommandError(f"Base de données injoignable : {error}") from error
        self.stdout.write(
            f"{read} rapport(s) lu(s), {new} retour(s) nouveau(x) enregistré(s), "
            f"{ignored} message(s) ignoré(s) (pas un rapport de remise), "
            f"{unreadable} message(s) illisible(s) (mis de côté, voir le journal)."
        )
