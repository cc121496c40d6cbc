"""Send a newsletter issue from the command line: the same as « Envoyer » in the
admin, but in this process, with a progress bar."""

import sys

from django.core.management.base import BaseCommand, CommandError

from newsletter.models import Issue
from newsletter.sending import send_issue


class Command(BaseCommand):
    help = "Envoie une newsletter à tous les abonnés confirmés (reprend un envoi interrompu)."

    def add_arguments(self, parser):
        parser.add_argument("issue", type=int, help="Numéro de la newsletter (son id).")
        parser.add_argument(
            "--rate",
            type=float,
            default=None,
            help="Messages par seconde au plus (défaut : réglage du site).",
        )
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, issue, rate, batch_size, no_progress, **options):
        try:
            issue = Issue.objects.get(pk=issue)
        except Issue.DoesNotExist:
            raise CommandError(f"Aucune newsletter n° {issue}.") from None
        if not issue.items():
            raise CommandError("Cette newsletter ne contient aucun article publié.")
        if issue.status == Issue.Status.DRAFT:
            # Queued as « Envoyer » queues it, but sent by this process.
            added = issue.queue(start_sender=False)
            if added is not None:  # None: started meanwhile, from the admin
                self.stdout.write(f"{added} envoi(s) ajouté(s) à la file.")
        # Otherwise resume: readers who subscribed since do not get an old issue.
        show = None if no_progress else self.progress_bar
        counts = send_issue(issue, batch_size=batch_size, rate=rate, progress=show)
        if counts is None:
            raise CommandError("Un autre envoi de cette newsletter est en cours.")
        if show:
            show(counts)
            sys.stderr.write("\n")
        self.stdout.write(
            "Envoyés : {sent} · échecs : {failed} · incertains : {uncertain} · "
            "annulés : {skipped} · en attente : {waiting} · total : {total}".format(**counts)
        )

    def progress_bar(self, counts):
        total = counts["total"] or 1
        done = counts["total"] - counts["waiting"]
        width = 40
        filled = round(width * done / total)
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{counts['total']}"
            f" ({counts['failed']} échec(s))"
        )
        sys.stderr.flush()
