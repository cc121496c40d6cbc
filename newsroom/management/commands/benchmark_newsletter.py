"""Measure the newsletter's sending rate: an issue to N subscribers through a
local SMTP server (aiosmtpd, in this process), as the worker sends it."""

import logging
import socket
import time

from django.conf import settings
from django.core.mail import get_connection
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from articles.models import Article
from newsletter.models import Delivery, Issue, IssueArticle, Subscriber, Subscription
from newsletter.sending import send_issue

BENCH_DOMAIN = "bench.invalid"


class Command(BaseCommand):
    help = "Mesure le débit d’envoi de la newsletter vers un serveur SMTP local."

    def add_arguments(self, parser):
        parser.add_argument("--subscribers", type=int, default=10_000)

    def handle(self, subscribers, **options):
        if settings.DATABASES["default"]["NAME"] in ("newsroom", "postgres"):
            raise CommandError("Use a separate database (make bench sets EMBEDDED_DATABASE_NAME).")
        from aiosmtpd.controller import Controller

        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's chatter
        received = []

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                received.append(len(envelope.content))
                return "250 OK"

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        controller.start()
        mail = get_connection(
            "django.core.mail.backends.smtp.EmailBackend",
            host="127.0.0.1",
            port=port,
            username="",
            password="",
            use_tls=False,
            use_ssl=False,
        )
        try:
            issue = self.prepare(subscribers)
            started = time.perf_counter()
            counts = send_issue(issue, connection=mail, rate=0)
            elapsed = time.perf_counter() - started
        finally:
            controller.stop()
        size = sum(received) / max(1, len(received)) / 1024
        self.stdout.write(
            f"\nNewsletter: {counts['sent']} messages to {subscribers} subscribers in "
            f"{elapsed:.1f} s = {counts['sent'] / elapsed:.0f} messages/s "
            f"(batch {settings.NEWSLETTER_BATCH_SIZE}, no rate limit, local SMTP server "
            f"in the same process; {size:.0f} KiB per message; "
            f"failed {counts['failed']}, uncertain {counts['uncertain']})."
        )

    def prepare(self, count):
        with transaction.atomic():
            existing = Subscriber.objects.filter(email__endswith=f"@{BENCH_DOMAIN}").count()
            Subscriber.objects.bulk_create(
                Subscriber(
                    email=f"lecteur{index}@{BENCH_DOMAIN}", status=Subscriber.Status.CONFIRMED
                )
                for index in range(existing, count)
            )
            issue = Issue.objects.create(subject="Mesure d’envoi", introduction="Bonjour.")
            Subscription.objects.bulk_create(
                (
                    Subscription(
                        subscriber_id=pk,
                        newsletter_id=issue.newsletter_id,
                        status=Subscription.Status.ACTIVE,
                    )
                    for pk in Subscriber.objects.filter(
                        email__endswith=f"@{BENCH_DOMAIN}"
                    ).values_list("pk", flat=True)
                ),
                ignore_conflicts=True,
            )
            for position, article in enumerate(
                Article.objects.published().exclude(hero_image="")[:5]
            ):
                IssueArticle.objects.create(issue=issue, article=article, position=position)
            Delivery.objects.create_for(issue)
        return issue
