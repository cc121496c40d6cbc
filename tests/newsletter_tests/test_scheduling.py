"""Scheduled sending (#11 §3): an editor schedules an issue (times shown in the
newsroom's zone and in Paris); the worker sends it then, once, or on restart
if it was down, and says it was late; unschedule and reschedule work until
sending starts."""

import re
import subprocess
import sys
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from articles.models import Article
from newsletter.admin import SendAction
from newsletter.models import Delivery, Issue
from newsletter.tasks import start_due_issues, start_scheduled_issue_task
from tests.factories import make_issue, make_user
from tests.newsletter_tests.test_sending import (
    DATABASE_TASKS,
    _sender_environment,
    confirmed_subscribers,
)

pytestmark = pytest.mark.django_db
ALMATY = ZoneInfo("Asia/Almaty")


def schedule_data(moment):
    local = timezone.localtime(moment, ALMATY)
    return {"action": "schedule", "send_at_0": f"{local:%Y-%m-%d}", "send_at_1": f"{local:%H:%M}"}


def next_week_at_nine():
    local = timezone.localtime(timezone.now() + timedelta(days=7), ALMATY)
    return local.replace(hour=9, minute=0, second=0, microsecond=0)


def test_an_editor_schedules_an_issue_in_the_newsrooms_time(
    admin_client, settings, django_capture_on_commit_callbacks
):
    """The time typed is the newsroom's (Almaty); the issue is « Programmée »,
    a task waits in the queue until then, and the admin shows the time in
    Almaty and in Paris."""
    settings.TASKS = DATABASE_TASKS
    issue = make_issue(articles=1)
    moment = next_week_at_nine()
    url = reverse("admin:newsletter_issue_send", args=[issue.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, schedule_data(moment))
    assert response.status_code == 302
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SCHEDULED and issue.scheduled_at == moment
    task = DBTaskResult.objects.get()
    assert task.task_path == start_scheduled_issue_task.module_path
    assert task.run_after == moment
    paris = moment.astimezone(ZoneInfo("Europe/Paris"))
    expected = f"{moment:%d/%m/%Y} 09:00 (Almaty) · {paris:%d/%m/%Y %H:%M} (Paris)"
    page = admin_client.get(url).content.decode()
    assert expected in page
    # Its three forms (send now, reschedule, unschedule) post what the view knows.
    assert re.findall(r'name="action" value="([^"]*)"', page) == list(SendAction)
    listing = admin_client.get(reverse("admin:newsletter_issue_changelist")).content.decode()
    assert expected in listing
    assert Delivery.objects.count() == 0  # recipients are taken when it starts


@pytest.mark.parametrize(
    "data, message",
    [
        ({"send_at_0": "2020-01-01", "send_at_1": "08:00"}, "Ce moment est passé"),
        ({"send_at_0": "31/02/2030", "send_at_1": "08:00"}, "Cette date n’est pas valide"),
        ({"send_at_0": "2030-01-01", "send_at_1": "25:99"}, "Cette heure n’est pas valide"),
        ({"send_at_0": "", "send_at_1": ""}, "Indiquez la date et l’heure"),
        ({"send_at_0": "2030-01-01\x00", "send_at_1": "08:00"}, "Cette date n’est pas valide"),
    ],
)
def test_a_bad_time_is_refused_in_french(admin_client, data, message):
    """A past, impossible or missing time is refused next to the field; the
    issue stays a draft."""
    issue = make_issue(articles=1)
    response = admin_client.post(
        reverse("admin:newsletter_issue_send", args=[issue.pk]), {"action": "schedule", **data}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Issue.objects.get(pk=issue.pk).status == Issue.Status.DRAFT


def test_unschedule_and_reschedule_until_sending_starts(admin_client, smtp_server, settings):
    """Unscheduling brings the issue back to draft and its waiting task then
    does nothing; rescheduling moves the time, and only the task of the new
    time starts it. Once sending has started, neither is possible."""
    settings.TASKS = DATABASE_TASKS
    confirmed_subscribers(2)
    issue = make_issue(articles=1)
    url = reverse("admin:newsletter_issue_send", args=[issue.pk])
    first = next_week_at_nine()
    issue.schedule(first)
    response = admin_client.post(url, {"action": "unschedule"})
    assert response.status_code == 302
    issue.refresh_from_db()
    assert (issue.status, issue.scheduled_at) == (Issue.Status.DRAFT, None)
    assert start_scheduled_issue_task.call(issue.pk, first.isoformat()) is False

    issue.schedule(first)
    second = first + timedelta(hours=2)
    admin_client.post(url, schedule_data(second))
    issue.refresh_from_db()
    assert issue.scheduled_at == second
    # Both times pass; the task of the first time is stale.
    Issue.objects.filter(pk=issue.pk).update(scheduled_at=timezone.now() - timedelta(seconds=1))
    stale_time = first.isoformat()
    assert start_scheduled_issue_task.call(issue.pk, stale_time) is False
    current = Issue.objects.get(pk=issue.pk).scheduled_at.isoformat()
    assert start_scheduled_issue_task.call(issue.pk, current) is True
    issue.refresh_from_db()
    assert issue.status in (Issue.Status.SENDING, Issue.Status.SENT)

    assert issue.unschedule() is False and issue.schedule(second) is False
    assert admin_client.post(url, {"action": "unschedule"})["Location"].endswith("/envoi/")


def test_a_scheduled_issue_starts_once_whoever_asks(
    smtp_server, django_capture_on_commit_callbacks
):
    """The task, the worker's heartbeat and a worker starting all try: the
    issue starts once and each subscriber gets it once."""
    confirmed_subscribers(3)
    issue = make_issue(articles=1)
    issue.schedule(timezone.now() + timedelta(minutes=5))
    assert start_due_issues() == []  # not yet
    Issue.objects.filter(pk=issue.pk).update(scheduled_at=timezone.now())
    moment = Issue.objects.get(pk=issue.pk).scheduled_at.isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        started = [
            start_scheduled_issue_task.call(issue.pk, moment),
            bool(start_due_issues()),
            bool(start_due_issues()),
        ]
    assert started == [True, False, False]
    recipients = [r for envelope in smtp_server for r in envelope.rcpt_tos]
    assert sorted(recipients) == [f"abonne{i}@exemple.org" for i in range(3)]
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT and issue.late_by() is None


def test_an_issue_left_without_articles_is_not_sent_and_editors_are_told(smtp_server):
    """At its time, an issue whose articles were all unpublished goes back to
    draft, and the editors (those who may send) get an email saying so."""
    confirmed_subscribers(2)
    editor = make_user(email="redaction@exemple.org", perms=["newsletter.send_issue"])
    make_user(email="pigiste@exemple.org")
    issue = make_issue(articles=1)
    issue.schedule(timezone.now() + timedelta(minutes=1))
    Article.objects.update(status=Article.Status.DRAFT)
    Issue.objects.filter(pk=issue.pk).update(scheduled_at=timezone.now())
    assert start_due_issues() == []
    assert Issue.objects.get(pk=issue.pk).status == Issue.Status.DRAFT
    assert [envelope.rcpt_tos for envelope in smtp_server] == [[editor.email]]
    assert "n’est pas partie" in smtp_server[0].content.decode()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_queued_task_sends_the_issue_at_its_time(smtp_server, settings):
    """The task waits in the queue until the scheduled time; a worker running
    then sends the issue, on time."""
    settings.TASKS = DATABASE_TASKS
    confirmed_subscribers(3)
    issue = make_issue(articles=1)
    issue.schedule(timezone.now() + timedelta(seconds=2))
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    assert smtp_server == []  # too early: the task waits
    time.sleep(2.2)
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    assert len(smtp_server) == 3
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT and issue.late_by() is None


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_that_was_down_sends_on_restart_and_says_it_was_late(
    smtp_server, settings, admin_client
):
    """No worker ran at the scheduled time: the next `manage.py worker` sends
    the issue when it starts, once, says it is late, and the issue's page in
    the admin shows the delay."""
    settings.TASKS = DATABASE_TASKS
    confirmed_subscribers(4)
    issue = make_issue(articles=1)
    issue.schedule(timezone.now() + timedelta(minutes=1))
    # Three hours have passed with no worker running.
    Issue.objects.filter(pk=issue.pk).update(
        scheduled_at=timezone.now() - timedelta(hours=3, minutes=5)
    )
    worker = subprocess.run(
        [sys.executable, "manage.py", "worker", "--batch", "--no-startup-delay"],
        cwd=settings.BASE_DIR,
        env=_sender_environment(smtp_server),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert f"Scheduled issue {issue.pk} was due at" in worker.stdout, worker.stderr[-2000:]
    assert "185 min late" in worker.stdout
    received = [r for envelope in smtp_server for r in envelope.rcpt_tos]
    assert sorted(received) == [f"abonne{i}@exemple.org" for i in range(4)]
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT
    assert timedelta(hours=3) < issue.late_by() < timedelta(hours=4)
    page = admin_client.get(reverse("admin:newsletter_issue_progress", args=[issue.pk]))
    assert "Partie en retard (3 h 5 min" in page.content.decode()
    assert mail.outbox == []


def test_the_task_queued_by_the_form_starts_the_issue_at_its_time(
    admin_client, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """Scheduled through the admin at a time typed in Almaty, the issue is
    started by the task queued for that time, on its own (the worker's
    heartbeat, which catches up on due issues, is not needed)."""
    settings.TASKS = DATABASE_TASKS
    confirmed_subscribers(2)
    issue = make_issue(articles=1)
    moment = next_week_at_nine()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:newsletter_issue_send", args=[issue.pk]), schedule_data(moment)
        )
    arguments = DBTaskResult.objects.get().args_kwargs["args"]
    monkeypatch.setattr(timezone, "now", lambda: moment + timedelta(seconds=1))
    assert start_scheduled_issue_task.call(*arguments) is True
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENDING and issue.late_by() is None
    assert Delivery.objects.filter(issue=issue).count() == 2


@pytest.mark.parametrize("scheduled_for", ["", "demain", "2030-13-45T09:00:00+05:00", None])
def test_a_task_with_a_malformed_time_does_nothing(scheduled_for):
    """A task whose time cannot be read starts nothing (and does not fail)."""
    issue = make_issue(articles=1)
    issue.schedule(timezone.now() - timedelta(seconds=1))
    assert start_scheduled_issue_task.call(issue.pk, scheduled_for) is False
    assert Issue.objects.get(pk=issue.pk).status == Issue.Status.SCHEDULED
