"""Author pages follow the review rule of articles, and only editors bind a
byline to an account."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from articles.models import Author
from tests.factories import client_for, make_article, make_author, make_member, make_user

pytestmark = pytest.mark.django_db
ADD = reverse("admin:articles_author_add")


def author_form(**overrides):
    return {"name": "Nouvelle Plume", "slug": "nouvelle-plume", "bio": "Une bio.", **overrides}


def test_a_journalist_cannot_bind_a_byline_to_someone_elses_account():
    """The account field is read-only for journalists: a forged POST binds nothing,
    so the superuser's next article is not signed with the journalist's byline."""
    journalist = make_member("Journaliste")
    root = make_user(superuser=True)
    response = client_for(journalist).post(ADD, author_form(user=root.pk))
    assert response.status_code == 302
    author = Author.objects.get(slug="nouvelle-plume")
    assert author.user is None
    root.refresh_from_db()
    assert not Author.objects.filter(user=root).exists()


def test_an_editor_binds_a_byline_to_an_account():
    """Editors see and use the account field."""
    editor = make_member("Éditeur")
    colleague = make_user()
    client = client_for(editor)
    assert 'name="user"' in client.get(ADD).content.decode()
    response = client.post(ADD, author_form(user=colleague.pk))
    assert response.status_code == 302
    assert Author.objects.get(slug="nouvelle-plume").user == colleague


def test_a_new_author_page_is_public_only_once_an_article_it_signs_is(client):
    """An author created by a journalist is not public: its page is 404 and it is
    absent from the sitemap until an editor publishes an article it signs."""
    journalist = make_member("Journaliste")
    client_for(journalist).post(ADD, author_form(bio="Ma bio non relue."))
    author = Author.objects.get(slug="nouvelle-plume")
    page = reverse("articles:author-detail", args=[author.slug])

    assert client.get(page).status_code == 404
    assert page not in client.get("/sitemap.xml").content.decode()
    draft = make_article(published=False, authors=[author])
    assert client.get(page).status_code == 404

    draft.status = draft.Status.PUBLISHED
    draft.published_at = timezone.now()
    draft.save()
    response = client.get(page)
    assert response.status_code == 200 and "Ma bio non relue." in response.content.decode()
    assert page in client.get("/sitemap.xml").content.decode()


def test_only_editors_change_or_delete_a_public_author():
    """A journalist allowed to change authors may still edit a byline no public
    article carries, but not a public author page; an editor may."""
    journalist = make_member("Journaliste")
    journalist.user_permissions.add(
        *Permission.objects.filter(codename__in=["change_author", "delete_author"])
    )
    public = make_author(name="Publique")
    make_article(authors=[public])
    private = make_author(name="Pas encore publique")
    client = client_for(journalist)

    def change(author):
        return reverse("admin:articles_author_change", args=[author.pk])

    def delete(author):
        return reverse("admin:articles_author_delete", args=[author.pk])

    posted = client.post(change(public), author_form(name="Détournée", slug=public.slug))
    assert posted.status_code == 403
    public.refresh_from_db()
    assert public.name == "Publique"
    assert client.post(delete(public), {"post": "yes"}).status_code == 403
    assert Author.objects.filter(pk=public.pk).exists()

    posted = client.post(change(private), author_form(name="Corrigée", slug=private.slug))
    assert posted.status_code == 302
    private.refresh_from_db()
    assert private.name == "Corrigée"

    editor = client_for(make_member("Éditeur"))
    posted = editor.post(change(public), author_form(name="Relue", slug=public.slug))
    assert posted.status_code == 302
    public.refresh_from_db()
    assert public.name == "Relue"
