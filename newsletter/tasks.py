"""Background tasks, run by `python manage.py db_worker` (django-tasks with the
PostgreSQL backend)."""

from django_tasks import task

from .emails import send_confirmation, send_issue
from .models import Issue, SignupRequest, Subscriber


@task()
def process_signup_task(request_id):
    """Handle a signup the form stored: record it, and send the confirmation
    email when one is due. Returns the outcome."""
    signup = SignupRequest.objects.filter(pk=request_id).first()
    if signup is None:
        return None
    subscriber, outcome = signup.process()
    if outcome == "send":
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
