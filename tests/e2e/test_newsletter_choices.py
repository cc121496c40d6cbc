"""A reader chooses newsletters in a real browser: on the signup form under an
article, then on the preferences page linked from every email (#11 §1)."""

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from playwright.sync_api import expect

from newsletter.models import ConsentEvent, Newsletter, Subscriber, Subscription

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_reader_chooses_newsletters_then_changes_them_on_the_preferences_page(page, site):
    """Under an article, « L’essentiel » is ticked and « Alertes » is offered; the
    reader ticks both, confirms from the email, then, from the preferences
    link, keeps « Alertes » only, and finally leaves everything."""
    essentiel = Newsletter.objects.default()
    alertes = Newsletter.objects.create(
        name="Alertes", slug="alertes", description="Les nouvelles urgentes.", position=2
    )
    page.goto("/article/som-stable/")
    first = page.get_by_role("checkbox", name=re.compile("L’essentiel"))
    second = page.get_by_role("checkbox", name=re.compile("Alertes"))
    expect(first).to_be_checked()
    expect(second).not_to_be_checked()
    second.check()
    page.get_by_label("Votre adresse e-mail").fill("choisit@exemple.kz")
    page.get_by_role("button", name="S’inscrire").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vérifiez votre boîte e-mail")

    confirm = re.search(r"https?://\S+/confirmation/\S+/", mail.outbox[-1].body).group(0)
    page.goto(urlsplit(confirm).path)
    expect(page.get_by_role("listitem").filter(has_text="Alertes")).to_be_visible()
    page.get_by_role("button", name="Je confirme mon inscription").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inscription confirmée")
    subscriber = Subscriber.objects.get(email="choisit@exemple.kz")
    assert set(subscriber.newsletters_in(Subscription.Status.ACTIVE)) == {essentiel, alertes}

    page.get_by_role("link", name="Gérer mes abonnements").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes newsletters")
    page.get_by_role("checkbox", name=re.compile("L’essentiel")).uncheck()
    page.get_by_role("button", name="Enregistrer mes choix").click()
    expect(page.get_by_role("status")).to_have_text("Vos choix sont enregistrés.")
    expect(page.get_by_role("checkbox", name=re.compile("Alertes"))).to_be_checked()
    expect(page.get_by_role("checkbox", name=re.compile("L’essentiel"))).not_to_be_checked()
    assert list(subscriber.newsletters_in(Subscription.Status.ACTIVE)) == [alertes]

    page.get_by_role("button", name="Me désinscrire de toutes les newsletters").click()
    expect(page.get_by_role("status")).to_contain_text("désinscrit de toutes")
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    methods = set(
        subscriber.consent_events.filter(kind=ConsentEvent.Kind.WITHDRAWN).values_list(
            "method", flat=True
        )
    )
    assert methods == {ConsentEvent.Method.PREFERENCES}
