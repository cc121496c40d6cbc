from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from articles.models import Article, PreviewLink
from tests.factories import admin_article_data, make_article, make_user

pytestmark = pytest.mark.django_db


def test_staff_preview_from_the_admin(admin_client):
    """The admin's « Aperçu » shows any article as readers will see it, marked,
    uncached and not indexed."""
    article = make_article(published=False, title="Brouillon en cours")
    response = admin_client.get(reverse("admin:articles_article_preview", args=[article.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Brouillon en cours" in content and "Aperçu" in content
    assert "les lecteurs ne le voient pas" in content  # the staff banner gives the status
    assert "Aperçu confidentiel" not in content
    assert '<meta name="robots" content="noindex, nofollow">' in content
    assert "no-cache" in response["Cache-Control"]


def test_admin_preview_is_for_staff_only(client):
    """Visitors without an account are sent to the login page."""
    article = make_article(published=False)
    response = client.get(reverse("admin:articles_article_preview", args=[article.pk]))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def _create_link(admin_client, article, recipient="Traductrice"):
    data = admin_article_data(article)
    data.update({"preview_links-TOTAL_FORMS": "1", "preview_links-0-recipient": recipient})
    response = admin_client.post(reverse("admin:articles_article_change", args=[article.pk]), data)
    assert response.status_code == 302
    return PreviewLink.objects.get(article=article, recipient=recipient)


def test_shareable_link_shows_the_draft_to_someone_without_an_account(admin_client, client):
    """A preview link created in the admin shows the draft to anyone who has it,
    marked confidential, uncached, not indexed, and sending no referrer."""
    article = make_article(published=False, title="Enquête à paraître")
    link = _create_link(admin_client, article)
    assert len(link.token) >= 40

    response = client.get(link.get_absolute_url())
    content = response.content.decode()
    assert response.status_code == 200
    assert "Enquête à paraître" in content and "Aperçu confidentiel" in content
    assert "les lecteurs ne le voient pas" not in content  # no staff banner
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-cache" in response["Cache-Control"]
    change_page = admin_client.get(reverse("admin:articles_article_change", args=[article.pk]))
    assert settings.SITE_URL + link.get_absolute_url() in change_page.content.decode()


def test_revoked_link_stops_working(admin_client, client):
    """An editor revokes the link; it then shows a page saying so, without the article."""
    article = make_article(published=False, title="Enquête à paraître")
    link = _create_link(admin_client, article)
    article.refresh_from_db()
    data = admin_article_data(article)
    data.update(
        {
            "preview_links-TOTAL_FORMS": "1",
            "preview_links-INITIAL_FORMS": "1",
            "preview_links-0-id": link.pk,
            "preview_links-0-article": article.pk,
            "preview_links-0-recipient": link.recipient,
            "preview_links-0-revoke": "on",
        }
    )
    admin_client.post(reverse("admin:articles_article_change", args=[article.pk]), data)

    link.refresh_from_db()
    assert link.revoked_at is not None
    response = client.get(link.get_absolute_url())
    assert response.status_code == 404
    content = response.content.decode()
    assert "ne fonctionne plus" in content and "Enquête à paraître" not in content


def test_link_leads_to_the_public_page_once_published(client):
    """After publication the preview link redirects to the public article."""
    article = make_article(published=False)
    link = PreviewLink.objects.create(article=article, recipient="Source")
    article.status = Article.Status.PUBLISHED
    article.save()
    response = client.get(link.get_absolute_url())
    assert response.status_code == 302
    assert response["Location"] == article.get_absolute_url()


def test_unpublishing_does_not_revive_preview_links(admin_client, client):
    """Publication ends a preview link for good: after « Dépublier », the link
    shows the invalid-link page, not the article."""
    article = make_article(published=False, title="Article retiré")
    link = PreviewLink.objects.create(article=article, recipient="Source")
    assert client.get(link.get_absolute_url()).status_code == 200
    admin_client.post(
        reverse("admin:articles_article_changelist"),
        {"action": "publish", "_selected_action": [article.pk]},
    )
    assert client.get(link.get_absolute_url()).status_code == 302
    admin_client.post(
        reverse("admin:articles_article_changelist"),
        {"action": "unpublish", "_selected_action": [article.pk]},
    )
    article.refresh_from_db()
    assert article.status == Article.Status.DRAFT
    response = client.get(link.get_absolute_url())
    assert response.status_code == 404
    assert "Article retiré" not in response.content.decode()
    assert not PreviewLink.objects.active().filter(pk=link.pk).exists()


def test_a_scheduled_article_keeps_its_links_until_its_time(client):
    """Scheduling is not publishing yet: the link works until the publication
    time; moving the schedule back to draft before then keeps it alive."""
    article = make_article(published=False, title="Programmé")
    link = PreviewLink.objects.create(article=article, recipient="Source")
    article.status = Article.Status.PUBLISHED
    article.published_at = timezone.now() + timedelta(hours=3)
    article.save()
    assert client.get(link.get_absolute_url()).status_code == 200
    link.refresh_from_db()
    assert link.revoked_at == article.published_at
    article.status = Article.Status.DRAFT
    article.save()
    link.refresh_from_db()
    assert link.revoked_at is None
    assert client.get(link.get_absolute_url()).status_code == 200


def test_a_link_of_a_published_article_ends_at_its_publication_time(client):
    """Once the scheduled time has passed, the link has ended for good."""
    article = make_article(published=False)
    link = PreviewLink.objects.create(article=article, recipient="Source")
    article.status = Article.Status.PUBLISHED
    article.published_at = timezone.now() + timedelta(hours=1)
    article.save()
    Article.objects.filter(pk=article.pk).update(
        published_at=timezone.now() - timedelta(minutes=1)
    )
    PreviewLink.objects.filter(pk=link.pk).update(revoked_at=timezone.now() - timedelta(minutes=1))
    Article.objects.filter(pk=article.pk).update(status=Article.Status.DRAFT)
    assert client.get(link.get_absolute_url()).status_code == 404


@pytest.mark.parametrize("token", ["inconnu", "x" * 500, "a.b-c_d"])
def test_unknown_preview_tokens_are_404(client, token):
    """A made-up or mangled token shows the invalid-link page."""
    response = client.get(reverse("articles:shared-preview", args=[token]))
    assert response.status_code == 404


def test_journalist_can_create_a_link_for_own_draft(client):
    """Journalists may share their own drafts for checking."""
    from tests.factories import make_author

    alice = make_user(username="alice")
    alice.groups.add(Group.objects.get(name="Journaliste"))
    article = make_article(published=False, authors=[make_author(user=alice)])
    client.force_login(alice)
    link = _create_link(client, article, recipient="Ma source")
    assert link.created_by == alice


def test_a_read_only_article_shows_its_links_without_a_revoke_box(client):
    """A journalist reading a published article sees its preview links, in French,
    with no « Revoke » column: there is nothing they may tick."""
    from tests.factories import make_author

    journalist = make_user(username="lectrice")
    journalist.groups.add(Group.objects.get(name="Journaliste"))
    article = make_article(authors=[make_author()])
    PreviewLink.objects.create(article=article, recipient="Une source")
    client.force_login(journalist)
    content = client.get(reverse("admin:articles_article_change", args=[article.pk]))
    html = content.content.decode()
    assert "Une source" in html
    assert "Revoke" not in html and "revoke" not in html
