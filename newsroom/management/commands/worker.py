"""The task worker (django-tasks-db's ``db_worker``) with a heartbeat: while it
runs, a thread records every HEARTBEAT_SECONDS that it is alive, for the health
page (``/sante/``), and forgets hourly reading counts older than
READ_COUNTS_KEPT_DAYS; with front caches configured, another purges them when the
content changes (newsroom.frontcache)."""

import os
import socket
import threading
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from newsroom import frontcache


def beat(name: str) -> None:
    from articles.models import ReadCount
    from newsroom.models import WorkerHeartbeat

    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(name=name, defaults={"seen_at": now})
    # Workers that stopped long ago are forgotten, and so are old reading counts.
    WorkerHeartbeat.objects.filter(seen_at__lt=now - timedelta(days=1)).delete()
    ReadCount.objects.filter(
        hour__lt=now - timedelta(days=settings.READ_COUNTS_KEPT_DAYS)
    ).delete()


class Command(DatabaseWorkerCommand):
    help = "Run the task worker, with a heartbeat for the health page."

    def handle(self, *args, **options):
        name = f"{socket.gethostname()}:{os.getpid()}"
        stop = threading.Event()

        from newsletter.tasks import resume_interrupted_work, start_due_issues

        def keep_beating():
            try:
                while not stop.wait(settings.WORKER_HEARTBEAT_SECONDS):
                    try:
                        beat(name)
                        # Scheduled issues whose task did not start them (it
                        # was lost, or is stuck behind a killed worker's).
                        start_due_issues()
                    except Exception:  # the database may be away for a while
                        connection.close()
            finally:
                connection.close()

        beat(name)  # before any task: the worker is seen from its start
        # Scheduled issues whose time passed while no worker ran: sent now.
        started = start_due_issues()
        for issue in started:
            late = issue.late_by()
            due = timezone.localtime(issue.scheduled_at).strftime("%d/%m/%Y %H:%M")
            if late:
                minutes = int(late.total_seconds() // 60)
                self.stdout.write(
                    f"Scheduled issue {issue.pk} was due at {due}: sending it now, "
                    f"{minutes} min late (no worker was running then)."
                )
            else:
                self.stdout.write(f"Scheduled issue {issue.pk} (due at {due}): sending it now.")
        issues, signups = resume_interrupted_work(started=[issue.pk for issue in started])
        for pk in issues:
            self.stdout.write(f"Resuming the interrupted sending of issue {pk}.")
        if signups:
            self.stdout.write(f"Queued {len(signups)} signup(s) left by a stopped worker.")

        thread = threading.Thread(target=keep_beating, name="heartbeat", daemon=True)
        thread.start()
        if frontcache.configured():
            threading.Thread(
                target=frontcache.watch,
                args=(stop, settings.FRONT_CACHE_POLL_SECONDS),
                name="front-cache-purger",
                daemon=True,
            ).start()
        try:
            return super().handle(*args, **options)
        finally:
            stop.set()
