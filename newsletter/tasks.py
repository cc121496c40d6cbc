"""Background tasks, run by `python manage.py db_worker` (django-tasks with the
PostgreSQL backend)."""

from django_tasks import task

from .emails import send_issue
from .models import Issue


@task()
def send_issue_task(issue_id):
    """Send an issue to its waiting deliveries; returns the progress counts (or
    None when another sender is already at work on it)."""
    issue = Issue.objects.get(pk=issue_id)
    return send_issue(issue)
