"""Background tasks, run by `python manage.py db_worker` (django-tasks with the
PostgreSQL backend)."""

import logging
from datetime import datetime

from django.dispatch import receiver
from django.utils import timezone
from django_tasks import TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from .models import Issue, SignupOutcome, SignupRequest, Subscriber
from .sending import notify_editors, send_confirmation, send_issue, sender_is_running
from .signals import schedule_wanted, sender_wanted

logger = logging.getLogger(__name__)


@task()
def process_signup_task(request_id):
    """Handle a signup the form stored: record it, and send the confirmation
    email when one is due. Returns the outcome."""
    signup = SignupRequest.objects.filter(pk=request_id).first()
    if signup is None:
        return None
    subscriber, outcome = signup.process()
    if outcome == SignupOutcome.SEND:
        send_confirmation_task.call(subscriber.pk)
    return outcome


@task()
def send_confirmation_task(subscriber_id):
    """Send the double opt-in email; if the mail server refuses it, let the
    address ask again at once."""
    subscriber = Subscriber.objects.filter(
        pk=subscriber_id, erased_at__isnull=True, suppressed_at__isnull=True
    ).first()
    if subscriber is None:
        return False
    if not send_confirmation(subscriber):
        Subscriber.objects.release_request(subscriber)
        return False
    return True


@task()
def send_issue_task(issue_id):
    """Send an issue to its waiting deliveries; returns the progress counts (or
    None when another sender is already at work on it)."""
    issue = Issue.objects.get(pk=issue_id)
    return send_issue(issue)


@receiver(sender_wanted)
def queue_sender(sender, issue_id, **kwargs):
    """An issue has deliveries to send: the worker takes them."""
    send_issue_task.enqueue(issue_id)


@task()
def start_scheduled_issue_task(issue_id, scheduled_for):
    """Start a scheduled issue at its time. A task queued for a time since
    changed (rescheduled, unscheduled) does nothing: the newer one starts it.
    Returns whether this task started it."""
    issue = Issue.objects.filter(pk=issue_id).first()
    if issue is None or issue.scheduled_at is None:
        return False
    # Compared as instants: the time was queued in the zone it was typed in
    # (the newsroom's), the database gives it back in UTC.
    try:
        scheduled_for = datetime.fromisoformat(scheduled_for)
    except (TypeError, ValueError):
        return False
    if timezone.is_naive(scheduled_for) or scheduled_for != issue.scheduled_at:
        return False
    return bool(start_due_issues([issue]))


@receiver(schedule_wanted)
def queue_scheduled_start(sender, issue_id, at, **kwargs):
    """A task that starts the issue at its time, when the task backend can hold
    one until then (the PostgreSQL one can); in any case the worker's
    heartbeat starts issues whose time has come (start_due_issues)."""
    deferred = start_scheduled_issue_task.using(run_after=at)
    if deferred.get_backend().supports_defer:
        deferred.enqueue(issue_id, at.isoformat())


def start_due_issues(issues=None):
    """Start every scheduled issue whose time has come (or ``issues``, if due),
    once each however many workers call this. A time that passed while no
    worker ran is caught up now, and said to be late (logged, and shown in the
    admin). An issue left with no published article is not sent: it goes back
    to draft and the editors are told. Returns the issues started."""
    started = []
    now = timezone.now()
    candidates = issues if issues is not None else Issue.objects.due(now)
    for issue in candidates:
        if issue.status != Issue.Status.SCHEDULED or issue.scheduled_at > now:
            continue
        if not issue.items():
            if issue.unschedule():
                logger.warning("Scheduled issue %s has no published article: not sent.", issue.pk)
                notify_editors("editors_empty_issue", {"issue": issue})
            continue
        if issue.start_if_due(now):
            started.append(issue)
            late = issue.late_by()
            if late:
                logger.warning(
                    "Scheduled issue %s was due at %s and starts now, %s late "
                    "(no worker was running at its time).",
                    issue.pk,
                    timezone.localtime(issue.scheduled_at).isoformat(timespec="minutes"),
                    late,
                )
            else:
                logger.info("Scheduled issue %s starts.", issue.pk)
    return started


def resume_interrupted_work(started=()):
    """What a worker killed mid-task left undone, queued again; called when a
    worker starts (a killed worker's task stays « running » in the queue for
    ever). Both tasks are safe to run twice: a sender needs the issue's lock
    (one already at work keeps it), and a signup is recorded once per address
    (a second run finds its row gone). Scheduled issues whose time passed
    while no worker ran are started too (see start_due_issues). Returns
    (issues, signups) queued."""
    issues = [issue.pk for issue in start_due_issues()]
    for issue in Issue.objects.filter(status=Issue.Status.SENDING):
        if issue.pk in started:
            continue
        if issue.progress()["waiting"] and not sender_is_running(issue):
            send_issue_task.enqueue(issue.pk)
            issues.append(issue.pk)
    queued = {
        (result.args_kwargs.get("args") or [None])[0]
        for result in DBTaskResult.objects.filter(
            status=TaskResultStatus.READY, task_path=process_signup_task.module_path
        ).only("args_kwargs")
    }
    signups = [pk for pk in SignupRequest.objects.values_list("pk", flat=True) if pk not in queued]
    for pk in signups:
        process_signup_task.enqueue(pk)
    return issues, signups
