"""Background tasks, run by `python manage.py db_worker` (django-tasks with the
PostgreSQL backend)."""

from django.dispatch import receiver
from django_tasks import TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from .models import Issue, SignupOutcome, SignupRequest, Subscriber
from .sending import send_confirmation, send_issue, sender_is_running
from .signals import sender_wanted


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
    subscriber = Subscriber.objects.filter(pk=subscriber_id, erased_at__isnull=True).first()
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


def resume_interrupted_work():
    """What a worker killed mid-task left undone, queued again; called when a
    worker starts (a killed worker's task stays « running » in the queue for
    ever). Both tasks are safe to run twice: a sender needs the issue's lock
    (one already at work keeps it), and a signup is recorded once per address
    (a second run finds its row gone). Returns (issues, signups) queued."""
    issues = []
    for issue in Issue.objects.filter(status=Issue.Status.SENDING):
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
