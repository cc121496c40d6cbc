import json
import re
import time
from datetime import timedelta
from email import message_from_bytes, policy

import lxml.html
import pytest
from django.core import mail, signing
from django.urls import reverse
from django.utils import timezone

from newsletter.forms import FORM_STAMP_SALT
from newsletter.models import SignupOutcome, SignupRequest, Subscriber
from tests.factories import make_article, make_subscriber, signup_data

pytestmark = pytest.mark.django_db
SUBSCRIBE = reverse("newsletter:subscribe")


def link_in(text, name):
    path = reverse(f"newsletter:{name}", args=["TOKEN"]).replace("TOKEN/", "")
    return re.search(rf"http://testserver({re.escape(path)}[^\s\"<]+)", text).group(1)


def test_signup_from_an_article_creates_a_pending_subscriber_and_sends_the_link(client):
    """The form under an article creates a pending subscriber, records the page, and
    mails a confirmation link."""
    article = make_article()
    response = client.post(
        SUBSCRIBE, signup_data("  Amina@Exemple.KZ ", source=article.get_absolute_url())
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("newsletter:subscribe-done")
    subscriber = Subscriber.objects.get()
    assert subscriber.email == "Amina@exemple.kz"
    assert subscriber.status == Subscriber.Status.PENDING
    assert subscriber.source == article.get_absolute_url()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["Amina@exemple.kz"]
    assert "Confirmez votre inscription" in message.subject
    html = message.alternatives[0][0]
    assert link_in(message.body, "confirm") == link_in(html, "confirm")


def test_following_the_link_then_the_button_confirms(client):
    """Opening the link shows a button and changes nothing; posting it confirms."""
    client.post(SUBSCRIBE, signup_data("bakyt@exemple.kg"))
    confirm_path = link_in(mail.outbox[0].body, "confirm")

    page = client.get(confirm_path)
    assert page.status_code == 200
    assert "Je confirme mon inscription" in page.content.decode()
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING

    done = client.post(confirm_path)
    assert done.status_code == 200
    assert "Inscription confirmée" in done.content.decode()
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.CONFIRMED
    assert subscriber.confirmed_at is not None


def test_tampered_confirmation_link_is_refused_and_changes_nothing(client):
    """A modified token gets a page that says so and offers a new link."""
    client.post(SUBSCRIBE, signup_data("bakyt@exemple.kg"))
    confirm_path = link_in(mail.outbox[0].body, "confirm")
    tampered = confirm_path[:-3] + ("AAA" if not confirm_path.endswith("AAA/") else "BBB") + "/"

    for method in (client.get, client.post):
        response = method(tampered)
        assert response.status_code == 400
        assert "Ce lien n’est pas valide" in response.content.decode()
        assert reverse("newsletter:subscribe") in response.content.decode()
        assert "Ce lien de désinscription" not in response.content.decode()
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING


def test_tampered_unsubscribe_link_says_how_to_unsubscribe_and_changes_nothing(client):
    """A modified unsubscribe token gets a page about unsubscribing (not an offer
    of a new confirmation link), and the subscriber stays subscribed."""
    subscriber = make_subscriber(status=Subscriber.Status.CONFIRMED)
    token = subscriber.make_token(Subscriber.TokenPurpose.UNSUBSCRIBE)
    tampered = reverse("newsletter:unsubscribe", args=[token[:-3] + "AAA"])

    for method in (client.get, client.post):
        response = method(tampered)
        content = response.content.decode()
        assert response.status_code == 400
        assert "Ce lien de désinscription est incomplet" in content
        assert "Recevoir un nouveau lien" not in content
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.CONFIRMED


def test_links_already_sent_keep_working():
    """Each purpose signs with the salt links were always signed with, so links
    already in readers' inboxes still work."""
    subscriber = make_subscriber(status=Subscriber.Status.CONFIRMED)
    salts = {
        Subscriber.TokenPurpose.CONFIRM: "confirm",
        Subscriber.TokenPurpose.UNSUBSCRIBE: "unsubscribe",
        Subscriber.TokenPurpose.PREFERENCES: "preferences",
    }
    assert set(salts) == set(Subscriber.TokenPurpose)
    for purpose, salt in salts.items():
        signer = signing.TimestampSigner(salt=f"newsletter.{salt}")
        earlier_link = signer.sign(subscriber.token_key)
        assert Subscriber.objects.from_token(earlier_link, purpose) == subscriber
        assert signer.unsign(subscriber.make_token(purpose)) == subscriber.token_key


def test_a_link_for_an_unknown_purpose_is_a_programming_error():
    """A mistyped purpose fails loudly instead of making links nothing accepts."""
    subscriber = make_subscriber()
    with pytest.raises(ValueError):
        subscriber.make_token("confirmation")
    with pytest.raises(ValueError):
        Subscriber.objects.from_token(
            subscriber.make_token(Subscriber.TokenPurpose.CONFIRM), "confirmer"
        )


@pytest.mark.parametrize("token", ["x", "a" * 2000, "..", "%00", "a:b:c"])
def test_malformed_tokens_never_error(client, token):
    """Any token, however malformed, gives the invalid-link page."""
    for name in ("confirm", "unsubscribe", "preferences"):
        response = client.post(reverse(f"newsletter:{name}", args=[token]))
        assert response.status_code == 400


def test_expired_confirmation_link_is_refused(client, monkeypatch):
    """A confirmation link older than seven days no longer confirms."""
    subscriber = make_subscriber()
    token = subscriber.make_token("confirm")
    later = timezone.now() + timedelta(days=8)
    monkeypatch.setattr(signing.time, "time", lambda: later.timestamp())
    response = client.post(reverse("newsletter:confirm", args=[token]))
    assert response.status_code == 400
    assert "expiré" in response.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.PENDING


def test_confirmation_token_does_not_unsubscribe(client):
    """Each link does only its own job: a confirmation token is no unsubscribe token."""
    subscriber = make_subscriber(status=Subscriber.Status.CONFIRMED)
    response = client.post(
        reverse("newsletter:unsubscribe", args=[subscriber.make_token("confirm")])
    )
    assert response.status_code == 400
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.CONFIRMED


@pytest.mark.parametrize(
    "email",
    ["pas-une-adresse", "a@", "@b.fr", "a b@c.fr", "<script>@x.fr", "a@b", "x" * 250 + "@a.fr"],
)
def test_invalid_address_gets_a_message_next_to_the_field(client, email):
    """An invalid address is answered 400 with a French message by the field; nothing stored."""
    response = client.post(SUBSCRIBE, signup_data(email))
    assert response.status_code == 400
    content = response.content.decode()
    assert 'id="email-error"' in content
    assert "adresse" in content.split('id="email-error"')[1][:200]
    assert not Subscriber.objects.exists()
    assert mail.outbox == []


def test_empty_form_asks_for_an_address(client):
    """Posting nothing asks for an address."""
    response = client.post(SUBSCRIBE, signup_data(""))
    assert response.status_code == 400
    assert "Indiquez votre adresse e-mail." in response.content.decode()


@pytest.mark.parametrize("status", [Subscriber.Status.PENDING, Subscriber.Status.CONFIRMED])
def test_known_address_gets_the_same_answer_as_a_new_one(client, status):
    """Nobody can probe who subscribes: a known address gets the same answer as a new one."""
    make_subscriber(email="connue@exemple.fr", status=status)
    new = client.post(SUBSCRIBE, signup_data("nouvelle@exemple.fr"))
    known = client.post(SUBSCRIBE, signup_data("CONNUE@exemple.fr"))
    assert (new.status_code, new["Location"]) == (known.status_code, known["Location"])
    assert Subscriber.objects.with_email("connue@exemple.fr").count() == 1


def test_confirmed_address_is_not_mailed_again(client):
    """A confirmed subscriber who signs up again gets no new email."""
    make_subscriber(email="fidele@exemple.fr", status=Subscriber.Status.CONFIRMED)
    client.post(SUBSCRIBE, signup_data("fidele@exemple.fr"))
    assert mail.outbox == []


def test_unsubscribe_link_unsubscribes_after_the_button(client):
    """The unsubscribe link shows a button; posting it unsubscribes."""
    subscriber = make_subscriber(status=Subscriber.Status.CONFIRMED)
    url = reverse("newsletter:unsubscribe", args=[subscriber.make_token("unsubscribe")])
    assert "Me désinscrire" in client.get(url).content.decode()
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.CONFIRMED

    response = client.post(url)
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    assert subscriber.unsubscribed_at is not None


def test_foreign_source_is_not_recorded(client):
    """Only paths on this site are recorded as the signup's source."""
    client.post(SUBSCRIBE, signup_data("a@exemple.fr", source="https://evil.example/"))
    client.post(SUBSCRIBE, signup_data("b@exemple.fr", source="//evil.example/x"))
    assert set(Subscriber.objects.values_list("source", flat=True)) == {""}


def test_newsletter_page_shows_the_form(client):
    """/newsletter/ shows the signup form on its own page."""
    response = client.get(SUBSCRIBE)
    content = response.content.decode()
    assert response.status_code == 200
    assert "Pour rester informé des actualités de l’Asie centrale" in content
    assert 'name="email"' in content


def test_the_signup_form_is_one_markup_under_articles_and_on_the_newsletter_page(client):
    """The form under an article and the one on /newsletter/?source=<that article>
    are the same markup but for their fresh signed stamps: bot trap and genuine
    stamp included, no CSRF token, no cookie, no id used twice on the page."""
    article = make_article()
    path = article.get_absolute_url()
    forms = []
    for response in (client.get(path), client.get(SUBSCRIBE, {"source": path})):
        content = response.content.decode()
        assert response.status_code == 200
        assert not response.cookies and "csrfmiddlewaretoken" not in content
        ids = re.findall(r'\bid="([^"]+)"', content)
        assert len(ids) == len(set(ids))
        form = re.search(r'<form [^>]*class="newsletter-form".*?</form>', content, re.S).group(0)
        stamp = re.search(r'name="started" value="([^"]+)"', form).group(1)
        assert time.time() - signing.loads(stamp, salt=FORM_STAMP_SALT) < 60
        assert 'name="website"' in form and f'name="source" value="{path}"' in form
        forms.append(form.replace(stamp, "STAMP"))
    assert forms[0] == forms[1]


def test_the_source_in_the_address_cannot_inject_markup(client):
    """?source= is written into the form escaped."""
    content = client.get(SUBSCRIBE, {"source": '/"><script>alert(1)</script>'}).content.decode()
    assert "<script>alert(1)" not in content
    # markupsafe's escaping (the pages are Jinja2 templates).
    assert 'value="/&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in content


def test_the_form_under_an_article_sent_as_shown_subscribes(client):
    """A browser that sends the form under an article with the fields it shows
    (hidden ones included) gets a pending subscription from that article."""
    article = make_article()
    page = lxml.html.fromstring(client.get(article.get_absolute_url()).content)
    (form,) = page.xpath('//form[@class="newsletter-form"]')
    fields = dict(form.form_values())
    assert fields["email"] == "" and not fields.get("website")  # the bot trap stays empty
    response = client.post(form.action, {**fields, "email": "lectrice@exemple.kz"})
    assert response["Location"] == reverse("newsletter:subscribe-done")
    subscriber = Subscriber.objects.get()
    assert (subscriber.email, subscriber.source) == (
        "lectrice@exemple.kz",
        article.get_absolute_url(),
    )
    assert len(mail.outbox) == 1


def test_confirmation_email_goes_through_a_real_smtp_server(client, smtp_server):
    """Over SMTP, the confirmation arrives with text and HTML parts and a working link."""
    client.post(SUBSCRIBE, signup_data("dinara@exemple.uz"))

    assert len(smtp_server) == 1
    envelope = smtp_server[0]
    assert envelope.rcpt_tos == ["dinara@exemple.uz"]
    message = message_from_bytes(envelope.content, policy=policy.default)
    assert "Confirmez votre inscription" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Confirmer mon inscription" in html
    client.post(link_in(text, "confirm"))
    assert Subscriber.objects.get().status == Subscriber.Status.CONFIRMED


def test_signup_still_answers_when_the_mail_server_is_down(client, settings):
    """If mail cannot be sent, the reader still gets the normal answer, and may ask again."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    response = client.post(SUBSCRIBE, signup_data("panne@exemple.fr"))
    assert response.status_code == 302
    assert Subscriber.objects.get().confirmation_sent_at is None


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


def test_recording_a_signup_says_what_it_led_to():
    """A new address is due a confirmation email; asking again within a day is
    throttled; a confirmed address (asked long ago) is due nothing. The worker's
    task result keeps the outcome's plain value."""
    from newsletter.tasks import process_signup_task

    outcome = Subscriber.objects.request_subscription("nouvelle@exemple.fr")[1]
    assert outcome is SignupOutcome.SEND
    assert Subscriber.objects.request_subscription("nouvelle@exemple.fr")[1] is (
        SignupOutcome.THROTTLED
    )
    make_subscriber(email="fidele@exemple.fr", status=Subscriber.Status.CONFIRMED)
    outcome = Subscriber.objects.request_subscription("fidele@exemple.fr")[1]
    assert outcome is SignupOutcome.SUBSCRIBED
    signup = SignupRequest.objects.create(email="tache@exemple.fr")
    assert json.dumps(process_signup_task.call(signup.pk)) == '"send"'
    assert len(mail.outbox) == 1
