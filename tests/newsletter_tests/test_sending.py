"""Newsletter issues sent from the admin to a real SMTP server (aiosmtpd)."""

import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from email import message_from_bytes, policy
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from newsletter.models import Delivery, Issue, IssueArticle, Subscriber
from newsletter.sending import Pace, send_issue
from newsletter.tasks import send_issue_task
from newsroom.embedded_database import url_of
from tests.factories import make_article, make_issue, make_user, subscribe

pytestmark = pytest.mark.django_db
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.backend.DatabaseBackend"}}


def confirmed_subscribers(count, newsletter=None):
    """``count`` confirmed subscribers of ``newsletter`` (the default one)."""
    subscribers = Subscriber.objects.bulk_create(
        Subscriber(email=f"abonne{index}@exemple.org", status=Subscriber.Status.CONFIRMED)
        for index in range(count)
    )
    subscribe(subscribers, newsletter)
    return subscribers


def parse(envelope):
    return message_from_bytes(envelope.content, policy=policy.default)


def one_click_url(message):
    header = message["List-Unsubscribe"]
    https = re.search(r"<(https?://[^>]+)>", header).group(1)
    return urlsplit(https).path


def test_a_full_issue_reaches_every_confirmed_subscriber_with_what_bulk_senders_need(
    client, admin_client, smtp_server, django_capture_on_commit_callbacks, settings
):
    """Sending from the admin queues a task and returns at once; the worker's task
    sends, batch after batch, one message per confirmed subscriber, each with HTML
    and text parts, a personal unsubscribe link and the List-Unsubscribe, List-Id,
    Message-ID, Date and From headers; each one-click URL unsubscribes exactly its
    own subscriber."""
    settings.TASKS = DATABASE_TASKS
    # Batches of two: five subscribers take three batches, one of them partial.
    settings.NEWSLETTER_BATCH_SIZE = 2
    confirmed_subscribers(5)
    Subscriber.objects.create(email="attente@exemple.org")
    Subscriber.objects.create(email="parti@exemple.org", status=Subscriber.Status.UNSUBSCRIBED)
    issue = make_issue()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:newsletter_issue_send", args=[issue.pk]))
    assert response.status_code == 302
    assert smtp_server == []  # the request only queued
    assert Delivery.objects.filter(issue=issue).count() == 5
    task = DBTaskResult.objects.get()
    assert task.task_path == "newsletter.tasks.send_issue_task"

    counts = send_issue_task.call(issue.pk)

    assert counts == {
        "total": 5,
        "sent": 5,
        "failed": 0,
        "uncertain": 0,
        "skipped": 0,
        "waiting": 0,
    }
    assert len(smtp_server) == 5
    recipients = sorted(r for envelope in smtp_server for r in envelope.rcpt_tos)
    assert recipients == [f"abonne{i}@exemple.org" for i in range(5)]
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT and issue.finished_at

    message_ids = set()
    for envelope in smtp_server:
        message = parse(envelope)
        assert message["Subject"] == "La semaine en Asie centrale"
        assert message["From"] == settings.NEWSLETTER_FROM_EMAIL
        assert message["Date"] and message["Message-ID"]
        message_ids.add(message["Message-ID"])
        assert message["List-Id"].endswith(">") and "newsletter." in message["List-Id"]
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert re.fullmatch(r"\s*<https?://\S+>,\s*<mailto:\S+>\s*", message["List-Unsubscribe"])
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert "Article sélectionné 0" in text and "Article sélectionné 1" in html
        path = one_click_url(message)
        assert path in text and path in html  # the visible link is the personal one
        assert "/media/renditions/" in html
    assert len(message_ids) == 5

    # RFC 8058: a POST with no cookie and no CSRF token unsubscribes at once.
    anonymous = Client(enforce_csrf_checks=True)
    for envelope in smtp_server:
        message = parse(envelope)
        before = set(Subscriber.objects.confirmed().values_list("email", flat=True))
        response = anonymous.post(
            one_click_url(message),
            "List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 200
        after = set(Subscriber.objects.confirmed().values_list("email", flat=True))
        assert before - after == {message["To"]}
    assert not Subscriber.objects.confirmed().exists()


def test_tampered_one_click_token_changes_nothing(client):
    """A modified token answers 400 and unsubscribes nobody."""
    subscriber = Subscriber.objects.create(
        email="x@exemple.org", status=Subscriber.Status.CONFIRMED
    )
    token = subscriber.make_token("unsubscribe")
    tampered = token[:-2] + ("aa" if not token.endswith("aa") else "bb")
    response = client.post(
        reverse("newsletter:unsubscribe", args=[tampered]),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert "n’est pas valide" in response.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.CONFIRMED


def test_refused_recipients_are_failures_and_the_rest_goes_out(smtp_server):
    """A recipient the server refuses is marked failed, with the reason; others are sent."""
    confirmed_subscribers(5)
    smtp_server.refuse.add("abonne2@exemple.org")
    issue = make_issue(articles=1)
    Delivery.objects.create_for(issue)
    counts = send_issue(issue)
    assert counts["sent"] == 4 and counts["failed"] == 1
    failed = Delivery.objects.get(status=Delivery.Status.FAILED)
    assert failed.subscriber.email == "abonne2@exemple.org" and "550" in failed.error


def test_a_mail_server_that_is_down_leaves_every_delivery_waiting(settings):
    """If the server cannot be reached, nothing is marked sent, uncertain or lost."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    confirmed_subscribers(3)
    issue = make_issue(articles=1)
    Delivery.objects.create_for(issue)
    with pytest.raises(OSError):
        send_issue(issue)
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.PENDING}


def test_deliveries_are_unique_per_subscriber_and_issue():
    """Queueing twice adds nobody twice."""
    confirmed_subscribers(4)
    issue = make_issue(articles=1)
    assert Delivery.objects.create_for(issue) == 4
    assert Delivery.objects.create_for(issue) == 0


def test_recovery_after_a_dead_sender():
    """Claimed-but-never-handed-over deliveries go back in the queue; the one in
    flight becomes uncertain and is not resent."""
    confirmed_subscribers(4)
    issue = make_issue(articles=1)
    Delivery.objects.create_for(issue)
    first, second, *rest = Delivery.objects.order_by("pk")
    Delivery.objects.filter(pk=first.pk).update(status=Delivery.Status.SENT)
    Delivery.objects.filter(pk=second.pk).update(status=Delivery.Status.SENDING)
    Delivery.objects.filter(pk__in=[d.pk for d in rest]).update(status=Delivery.Status.CLAIMED)
    assert Delivery.objects.recover(issue) == 1
    states = dict(Delivery.objects.values_list("pk", "status"))
    assert states[second.pk] == Delivery.Status.UNCERTAIN
    assert {states[d.pk] for d in rest} == {Delivery.Status.PENDING}


def test_pace_spaces_messages_at_the_configured_rate(monkeypatch):
    """At 10 messages a second, the sender waits 0.1 s between messages."""
    clock = [100.0]
    slept = []
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])

    def fake_sleep(seconds):
        slept.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(time, "sleep", fake_sleep)
    pace = Pace(10)
    for _ in range(4):
        pace.wait()
    assert [round(s, 3) for s in slept] == [0.1, 0.1, 0.1]
    assert Pace(0).interval == 0


def test_editors_preview_and_send_a_test_to_themselves(
    admin_client, smtp_server, django_user_model
):
    """The issue page previews HTML and text; « M’envoyer un test » mails the editor."""
    issue = make_issue()
    user = django_user_model.objects.get(username="admin")
    user.email = "redaction@exemple.org"
    user.save()
    html = admin_client.get(reverse("admin:newsletter_issue_preview", args=[issue.pk]))
    text = admin_client.get(reverse("admin:newsletter_issue_preview_text", args=[issue.pk]))
    assert "Article sélectionné 1" in html.content.decode()
    assert (
        text["Content-Type"].startswith("text/plain")
        and "Voici la sélection." in text.content.decode()
    )
    admin_client.post(reverse("admin:newsletter_issue_test", args=[issue.pk]))
    assert len(smtp_server) == 1
    message = parse(smtp_server[0])
    assert message["Subject"] == "[TEST] La semaine en Asie centrale"
    assert smtp_server[0].rcpt_tos == ["redaction@exemple.org"]
    assert not Delivery.objects.exists()


def test_journalists_cannot_send(client):
    """Sending is an editor's right: a journalist's request is refused and nothing queues."""
    user = make_user()
    user.groups.add(Group.objects.get(name="Journaliste"))
    client.force_login(user)
    issue = make_issue()
    confirmed_subscribers(2)
    response = client.post(reverse("admin:newsletter_issue_send", args=[issue.pk]))
    assert response.status_code == 403
    assert not Delivery.objects.exists()


def test_an_issue_without_published_articles_cannot_be_sent(admin_client):
    """An issue with no published article is not sent, and the editor is told why."""
    issue = Issue.objects.create(subject="Vide")
    IssueArticle.objects.create(issue=issue, article=make_article(published=False))
    response = admin_client.post(
        reverse("admin:newsletter_issue_send", args=[issue.pk]), follow=True
    )
    assert "au moins un article publié" in response.content.decode()
    assert Issue.objects.get(pk=issue.pk).status == Issue.Status.DRAFT


def test_progress_page_and_public_archive(client, admin_client, smtp_server):
    """After sending, the issue page shows the counts and the archive lists it."""
    confirmed_subscribers(3)
    issue = make_issue()
    Delivery.objects.create_for(issue)
    Issue.objects.filter(pk=issue.pk).update(status=Issue.Status.SENDING)
    send_issue(issue)
    progress = admin_client.get(reverse("admin:newsletter_issue_progress", args=[issue.pk]))
    assert '<td id="sent">3</td>' in progress.content.decode()
    archive = client.get(reverse("newsletter:archive")).content.decode()
    assert "La semaine en Asie centrale" in archive
    detail = client.get(issue.get_absolute_url()).content.decode()
    assert "Article sélectionné 0" in detail and "Voici la sélection." in detail
    draft = Issue.objects.create(subject="Brouillon")
    assert client.get(draft.get_absolute_url()).status_code == 404


def test_the_admin_offers_what_the_issue_s_status_allows(admin_client):
    """A draft's page offers « Envoyer… »; once queued it offers « Suivi de
    l’envoi » instead, and the progress page refreshes itself while sending only."""
    issue = make_issue(articles=1)
    change = reverse("admin:newsletter_issue_change", args=[issue.pk])
    progress = reverse("admin:newsletter_issue_progress", args=[issue.pk])
    send_link = reverse("admin:newsletter_issue_send", args=[issue.pk])
    refresh = '<meta http-equiv="refresh" content="5">'
    content = admin_client.get(change).content.decode()
    assert send_link in content and progress not in content

    for status, refreshes in ((Issue.Status.SENDING, True), (Issue.Status.SENT, False)):
        Issue.objects.filter(pk=issue.pk).update(status=status)
        content = admin_client.get(change).content.decode()
        assert progress in content and send_link not in content
        assert (refresh in admin_client.get(progress).content.decode()) is refreshes


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_worker_sends_what_the_admin_queued(smtp_server, settings):
    """`manage.py db_worker` runs the queued task."""
    settings.TASKS = DATABASE_TASKS
    confirmed_subscribers(5)
    issue = make_issue(articles=1)
    issue.queue()
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    assert len(smtp_server) == 5
    assert Issue.objects.get(pk=issue.pk).status == Issue.Status.SENT


def _database_url():
    """The test database's URL, for a process of its own."""
    connection.ensure_connection()
    return url_of(connection.settings_dict)


def _kill_mid_send(command, environment, smtp_server, tmp_path, after=30):
    """Run ``manage.py <command>``, SIGKILL it once the SMTP server has
    received ``after`` messages; returns how many it had then. Its output goes
    to a file (a pipe nobody reads could stop it once full) and is shown if it
    died on its own."""
    log = tmp_path / "sender.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", *command],
            cwd=settings.BASE_DIR,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while len(smtp_server) < after and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.01)
        assert process.poll() is None, log.read_text()[-2000:]
        process.send_signal(signal.SIGKILL)
        process.wait()
    return len(smtp_server)


def _sender_environment(smtp_server):
    """A sending process's environment: this test database, the test SMTP
    server, batches of 50 and no pause between messages."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "newsroom.settings.development",
        "DATABASE_URL": _database_url(),
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_server.port}",
        "NEWSLETTER_RATE_PER_SECOND": "0",
        "NEWSLETTER_BATCH_SIZE": "50",
        "SITE_URL": settings.SITE_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_sender_killed_mid_batch_resumes_without_sending_anyone_twice(smtp_server, tmp_path):
    """A sending process killed with SIGKILL mid-batch: resuming sends the rest;
    nobody gets the issue twice; what was in flight is marked uncertain, and an
    editor can resend it."""
    confirmed_subscribers(120)
    issue = make_issue(articles=1)
    smtp_server.delay = 0.02
    environment = _sender_environment(smtp_server)
    killed_at = _kill_mid_send(
        ["send_newsletter", str(issue.pk), "--no-progress"], environment, smtp_server, tmp_path
    )
    assert 30 <= killed_at < 120

    counts = send_issue(Issue.objects.get(pk=issue.pk))  # what « Reprendre » runs

    received = [r for envelope in smtp_server for r in envelope.rcpt_tos]
    assert len(received) == len(set(received)), "someone got the issue twice"
    assert counts["uncertain"] <= 1
    assert counts["sent"] + counts["uncertain"] == 120
    assert len(set(received)) >= 119
    uncertain = Delivery.objects.filter(status=Delivery.Status.UNCERTAIN)
    assert all(d.subscriber.email not in received or counts["uncertain"] for d in uncertain)

    Issue.objects.get(pk=issue.pk).resend_uncertain()
    send_issue(Issue.objects.get(pk=issue.pk))
    everyone = {r for envelope in smtp_server for r in envelope.rcpt_tos}
    assert everyone == {f"abonne{i}@exemple.org" for i in range(120)}
    assert Issue.objects.get(pk=issue.pk).status == Issue.Status.SENT


def test_a_sent_issue_can_no_longer_be_changed_or_deleted(admin_client, smtp_server):
    """What was sent stays as sent: no edit, no deletion; drafts have no public page."""
    confirmed_subscribers(1)
    issue = make_issue(articles=1)
    page = admin_client.get(reverse("admin:newsletter_issue_change", args=[issue.pk]))
    assert "Voir sur le site" not in page.content.decode()
    issue.queue()
    send_issue(issue)
    delete = reverse("admin:newsletter_issue_delete", args=[issue.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    change = admin_client.post(
        reverse("admin:newsletter_issue_change", args=[issue.pk]), {"subject": "Changé"}
    )
    assert change.status_code == 403
    assert Issue.objects.get(pk=issue.pk).subject == "La semaine en Asie centrale"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_mid_send_is_resumed_by_the_next_worker_that_starts(
    smtp_server, settings, tmp_path
):
    """The worker sending an issue is killed with SIGKILL: its task stays
    « running » in the queue for ever, so the next worker to start queues a new
    sender, which sends the rest; nobody gets the issue twice."""
    confirmed_subscribers(120)
    issue = make_issue(articles=1)
    smtp_server.delay = 0.02
    environment = _sender_environment(smtp_server)
    settings.TASKS = DATABASE_TASKS
    issue.queue()
    killed_at = _kill_mid_send(
        ["worker", "--no-startup-delay"], environment, smtp_server, tmp_path
    )
    assert 30 <= killed_at < 120
    assert DBTaskResult.objects.filter(status="RUNNING").count() == 1

    restarted = subprocess.run(
        [sys.executable, "manage.py", "worker", "--batch", "--no-startup-delay"],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert f"Resuming the interrupted sending of issue {issue.pk}." in restarted.stdout

    received = [r for envelope in smtp_server for r in envelope.rcpt_tos]
    assert len(received) == len(set(received)), "someone got the issue twice"
    counts = Issue.objects.get(pk=issue.pk).progress()
    assert counts["waiting"] == 0 and counts["uncertain"] <= 1
    assert counts["sent"] + counts["uncertain"] == 120
    assert Issue.objects.get(pk=issue.pk).status == Issue.Status.SENT


def test_a_starting_worker_queues_signups_a_killed_worker_left(settings):
    """A signup whose task died with its worker is queued again when a worker
    starts; one still waiting in the queue is not queued twice."""
    from newsletter.models import SignupRequest
    from newsletter.tasks import process_signup_task, resume_interrupted_work

    settings.TASKS = DATABASE_TASKS
    orphan = SignupRequest.objects.create(email="orpheline@exemple.org")
    waiting = SignupRequest.objects.create(email="en-attente@exemple.org")
    process_signup_task.enqueue(waiting.pk)

    assert resume_interrupted_work() == ([], [orphan.pk])
    queued = sorted(
        result.args_kwargs["args"][0]
        for result in DBTaskResult.objects.filter(task_path=process_signup_task.module_path)
    )
    assert queued == sorted([orphan.pk, waiting.pk])
    assert resume_interrupted_work() == ([], [])


def test_a_sender_given_a_connection_sends_through_it_and_not_the_sites(smtp_server, settings):
    """send_issue(connection=…) hands every message to that mail server; the site's
    own mail settings (here: kept in memory) are not used."""
    from django.core import mail

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    confirmed_subscribers(3)
    issue = make_issue(articles=1)
    Delivery.objects.create_for(issue)
    connection = mail.get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        host="127.0.0.1",
        port=smtp_server.port,
        use_tls=False,
        use_ssl=False,
    )
    counts = send_issue(issue, connection=connection)
    assert counts["sent"] == 3
    assert sorted(r for envelope in smtp_server for r in envelope.rcpt_tos) == [
        "abonne0@exemple.org",
        "abonne1@exemple.org",
        "abonne2@exemple.org",
    ]
    assert mail.outbox == []


def test_the_command_queues_a_draft_as_the_admin_does_and_sends_it_itself(
    smtp_server, settings, django_capture_on_commit_callbacks
):
    """send_newsletter on a draft goes through Issue.queue(): the issue is stamped
    « envoi lancé le », no task is left for the worker, and this process sends."""
    settings.TASKS = DATABASE_TASKS
    confirmed_subscribers(2)
    issue = make_issue(articles=1)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_newsletter", issue.pk, "--no-progress", verbosity=0)
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT
    assert issue.queued_at is not None
    assert DBTaskResult.objects.count() == 0
    assert len(smtp_server) == 2


def test_the_models_and_the_renderer_import_neither_the_sender_nor_the_tasks():
    """models.py says that a sender is wanted (a signal); emails.py only renders
    and builds messages. Neither imports sending.py or tasks.py, so there is no
    cycle models → tasks → emails → models."""
    import ast
    from pathlib import Path

    def imported(module):
        tree = ast.parse(Path(settings.BASE_DIR, "newsletter", f"{module}.py").read_text())
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names.add("." * node.level + (node.module or ""))
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        return names

    forbidden = {".tasks", ".sending", "newsletter.tasks", "newsletter.sending"}
    assert imported("models") & forbidden == set()
    assert imported("emails") & (forbidden | {".models", "newsletter.models"}) == set()
    assert ".signals" in imported("models")


def test_the_issue_list_says_where_each_send_is(admin_client):
    """The « envoi » column: a dash for a draft, the time of a scheduled
    issue, and for a send under way the messages sent out of all, linked to
    its progress page."""
    confirmed_subscribers(3)
    make_issue(articles=0, subject="Brouillon")
    scheduled = make_issue(articles=0, subject="Programmée")
    scheduled.schedule(timezone.now() + timedelta(days=1))
    sending = make_issue(articles=0, subject="En cours")
    sending.queue(start_sender=False)
    Delivery.objects.filter(pk__in=sending.deliveries.values("pk")[:2]).update(
        status=Delivery.Status.SENT
    )
    page = admin_client.get(reverse("admin:newsletter_issue_changelist")).content.decode()
    cells = dict(
        re.findall(
            r'<a href="[^"]+">([^<]+)</a></th>.*?<td class="field-sending">(.*?)</td>', page, re.S
        )
    )
    progress = reverse("admin:newsletter_issue_progress", args=[sending.pk])
    cells = {subject: cell.strip() for subject, cell in cells.items()}
    assert cells["Brouillon"] == "—"
    assert cells["Programmée"].startswith("programmée : ") and "(Paris)" in cells["Programmée"]
    assert cells["En cours"] == f'<a href="{progress}">2 envoyés / 3</a>'


def test_delays_are_shown_in_days_hours_and_minutes():
    """A delay shown to editors: « 1 j 3 h 12 min », « 5 min »."""
    from newsletter.admin import _duration

    assert _duration(timedelta(days=1, hours=3, minutes=12, seconds=40)) == "1 j 3 h 12 min"
    assert _duration(timedelta(minutes=5)) == "5 min"
    assert _duration(None) is None
