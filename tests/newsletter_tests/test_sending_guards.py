"""Edge cases found in review: unusual addresses, readers leaving during a send,
the sending lock, resumes, erasure traces, permissions."""

import json

import psycopg2
import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from articles.models import Article
from newsletter.models import ConsentEvent, ConsentText, Delivery, Issue, Subscriber
from newsletter.sending import SENDER_LOCK_NAMESPACE, send_issue, sender_is_running
from newsroom.embedded_database import url_of
from tests.factories import make_article, make_issue, make_subscriber, make_user, signup_data

pytestmark = pytest.mark.django_db
SUBSCRIBE = reverse("newsletter:subscribe")


@pytest.mark.parametrize("email", ["İlkay@exemple.fr", "\u212aelvin@exemple.fr"])
def test_addresses_whose_case_folds_oddly_subscribe_without_error(client, email):
    """Letters that Python and PostgreSQL lower-case differently cause no error."""
    response = client.post(SUBSCRIBE, signup_data(email))
    assert response.status_code == 302
    assert Subscriber.objects.count() == 1
    again = client.post(SUBSCRIBE, signup_data(email))
    assert (again.status_code, again["Location"]) == (302, response["Location"])
    assert Subscriber.objects.count() == 1
    assert len(mail.outbox) == 1


def test_the_signup_goes_through_the_worker(client, settings):
    """With the database queue, signing up only stores the request and queues its
    handling: no subscriber row, no email and no address in the task queue until
    the worker runs it."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.backend.DatabaseBackend"}}
    from django_tasks_db.models import DBTaskResult

    from newsletter.models import SignupRequest
    from newsletter.tasks import process_signup_task

    client.post(SUBSCRIBE, signup_data("file@exemple.fr"))
    assert mail.outbox == [] and not Subscriber.objects.exists()
    task = DBTaskResult.objects.get()
    assert task.task_path == "newsletter.tasks.process_signup_task"
    assert "file@exemple.fr" not in json.dumps(task.args_kwargs)
    process_signup_task.call(*task.args_kwargs["args"])
    assert Subscriber.objects.get().email == "file@exemple.fr"
    assert not SignupRequest.objects.exists()
    assert len(mail.outbox) == 1


def test_readers_who_leave_during_a_send_do_not_get_it(smtp_server):
    """Unsubscribed or erased after queueing: their delivery is cancelled, not sent."""
    issue = make_issue(articles=1)
    stays, leaves, erased = (
        make_subscriber(email=f"{name}@exemple.org", status=Subscriber.Status.CONFIRMED)
        for name in ("reste", "part", "efface")
    )
    Delivery.objects.create_for(issue)
    Issue.objects.filter(pk=issue.pk).update(status=Issue.Status.SENDING)
    leaves.unsubscribe(ConsentEvent.Method.LINK)
    erased.erase()
    counts = send_issue(issue)
    assert [r for envelope in smtp_server for r in envelope.rcpt_tos] == ["reste@exemple.org"]
    assert counts["skipped"] == 2 and counts["waiting"] == 0


def test_a_delivery_cancelled_in_the_table_is_skipped_at_claim_time(smtp_server):
    """Even without going through unsubscribe(), the sender checks the reader's state."""
    issue = make_issue(articles=1)
    subscriber = make_subscriber(status=Subscriber.Status.CONFIRMED)
    Delivery.objects.create_for(issue)
    Subscriber.objects.filter(pk=subscriber.pk).update(status=Subscriber.Status.UNSUBSCRIBED)
    send_issue(issue)
    assert smtp_server == []
    assert Delivery.objects.get().status == Delivery.Status.SKIPPED


def test_the_progress_page_asks_about_the_lock_without_taking_it():
    """sender_is_running() sees another process's lock, and never holds it itself."""
    issue = make_issue(articles=1)
    assert sender_is_running(issue) is False
    connection.ensure_connection()
    other = psycopg2.connect(url_of(connection.settings_dict))
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [SENDER_LOCK_NAMESPACE, issue.pk])
        assert sender_is_running(issue) is True
        assert send_issue(issue) is None  # the other sender is at work
        # Released explicitly: closing the connection also releases it, but only
        # once the server's backend has exited, after close() returns (asserting
        # right after close() failed one run in three).
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [SENDER_LOCK_NAMESPACE, issue.pk])
            assert cursor.fetchone() == (True,)
        assert sender_is_running(issue) is False
    finally:
        other.close()


def test_resume_and_resend_do_nothing_to_a_draft(admin_client):
    """A draft cannot be « resumed » into the sent archive."""
    issue = make_issue(articles=1)
    issue.resume()
    assert issue.resend_uncertain() == 0
    admin_client.post(reverse("admin:newsletter_issue_resume", args=[issue.pk]))
    assert Issue.objects.get(pk=issue.pk).status == Issue.Status.DRAFT


def test_resending_a_sent_issue_from_the_command_line_reaches_nobody_new(smtp_server):
    """send_newsletter on a sent issue resumes; it does not mail it to new subscribers."""
    make_subscriber(email="ancien@exemple.org", status=Subscriber.Status.CONFIRMED)
    issue = make_issue(articles=1)
    call_command("send_newsletter", issue.pk, "--no-progress", verbosity=0)
    make_subscriber(email="nouveau@exemple.org", status=Subscriber.Status.CONFIRMED)
    call_command("send_newsletter", issue.pk, "--no-progress", verbosity=0)
    recipients = [r for envelope in smtp_server for r in envelope.rcpt_tos]
    assert recipients == ["ancien@exemple.org"]


def test_nothing_is_sent_when_every_article_was_unpublished(smtp_server):
    """An issue whose articles were all unpublished since queueing is not sent empty."""
    make_subscriber(status=Subscriber.Status.CONFIRMED)
    issue = make_issue(articles=1)
    Delivery.objects.create_for(issue)
    Article.objects.update(status=Article.Status.DRAFT)
    counts = send_issue(issue)
    assert smtp_server == [] and counts["waiting"] == 1


def test_erasure_removes_the_address_from_delivery_errors(smtp_server):
    """A refused delivery's error keeps the server's answer but never the address."""
    subscriber = make_subscriber(email="refuse@exemple.org", status=Subscriber.Status.CONFIRMED)
    smtp_server.refuse.add("refuse@exemple.org")
    issue = make_issue(articles=1)
    Delivery.objects.create_for(issue)
    send_issue(issue)
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert "550" in delivery.error and "refuse@" not in delivery.error
    subscriber.erase()
    delivery.refresh_from_db()
    assert delivery.error == "" and delivery.message_id == ""


def test_confirmation_records_the_text_of_the_latest_request(client, admin_client):
    """Someone who subscribes again confirms the wording shown at their new request."""
    subscriber = make_subscriber(email="revient@exemple.fr")
    ConsentEvent.objects.create(
        subscriber=subscriber,
        kind="requested",
        consent_text=ConsentText.objects.current(),
        source="/ancienne/",
    )
    ConsentText.objects.create(text="Version plus récente.")
    client.post(SUBSCRIBE, signup_data("revient@exemple.fr", source="/nouvelle/"))
    client.post(reverse("newsletter:confirm", args=[subscriber.make_token("confirm")]))
    confirmed = subscriber.consent_events.get(kind="confirmed")
    assert confirmed.consent_text.text == "Version plus récente."
    assert confirmed.source == "/nouvelle/"


def test_an_erased_trace_keeps_no_address_and_the_person_may_subscribe_anew(client):
    """Erasure leaves no address behind: the trace cannot be found or touched by
    a signup, and the same person signing up later starts a new, separate record."""
    subscriber = make_subscriber(email="parti@exemple.fr", status=Subscriber.Status.CONFIRMED)
    subscriber.erase()
    subscriber.refresh_from_db()
    assert subscriber.email == ""
    events = subscriber.consent_events.count()
    response = client.post(SUBSCRIBE, signup_data("parti@exemple.fr"))
    assert response.status_code == 302
    assert subscriber.consent_events.count() == events
    newcomer = Subscriber.objects.get(email="parti@exemple.fr")
    assert newcomer.pk != subscriber.pk and newcomer.status == Subscriber.Status.PENDING
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["parti@exemple.fr"]


def test_staff_who_may_only_view_subscribers_cannot_export_or_erase(client):
    """Erasure and exports need the change permission."""
    viewer = make_user(perms=["newsletter.view_subscriber"])
    client.force_login(viewer)
    subscriber = make_subscriber(status=Subscriber.Status.CONFIRMED)
    changelist = reverse("admin:newsletter_subscriber_changelist")
    for action in ("erase", "export_record", "export_csv", "unsubscribe"):
        response = client.post(changelist, {"action": action, "_selected_action": [subscriber.pk]})
        assert response.status_code in (200, 302)
        assert not response.get("Content-Disposition")
    subscriber.refresh_from_db()
    assert subscriber.erased_at is None and subscriber.status == Subscriber.Status.CONFIRMED
    assert Permission.objects.filter(codename="send_issue").exists()


def test_odd_tokens_and_version_numbers_never_error(client, admin_client):
    """A NUL in a preview token, or a superscript digit as a version, is just unknown."""
    assert client.get("/apercu/%00/").status_code == 404
    article = make_article()
    url = reverse("admin:articles_article_revisions", args=[article.pk])
    assert admin_client.get(url, {"depuis": "²"}).status_code == 200
