"""Editorial workflow through real admin requests: roles, statuses, scheduling,
publishing checks, revisions, stale edits, slug redirects, corrections."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertRedirects

from articles.admin import ArticleAdmin, CorrectionInline
from articles.models import Article, ArticleRevision, Correction
from tests.factories import (
    admin_article_data,
    change_url,
    client_for,
    image_upload,
    make_article,
    make_author,
    make_section,
    make_user,
)
from tests.factories import make_member as member

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:articles_article_changelist")
ADD = reverse("admin:articles_article_add")


@pytest.fixture
def newsroom():
    """Two journalists with bylines, an editor and a superuser, and their clients."""
    alice = member("Journaliste", username="alice")
    bruno = member("Journaliste", username="bruno")
    editor = member("Éditeur", username="edith")
    root = make_user(superuser=True, username="root")
    make_author(name="Alice", user=alice)
    make_author(name="Bruno", user=bruno)
    return {
        "alice": (alice, client_for(alice)),
        "bruno": (bruno, client_for(bruno)),
        "editor": (editor, client_for(editor)),
        "superuser": (root, client_for(root)),
    }


def draft_of(user, **fields):
    article = make_article(published=False, authors=[user.author_profile], **fields)
    article.created_by = user
    article.save()
    return article


# Roles -----------------------------------------------------------------------------


def test_roles_exist_with_their_permissions():
    """The data migrations create the « Journaliste » and « Éditeur » groups (staff
    read the names in the admin, so no English ones are left); only editors publish."""
    assert set(Group.objects.values_list("name", flat=True)) == {"Journaliste", "Éditeur"}
    journalist = set(
        Group.objects.get(name="Journaliste").permissions.values_list("codename", flat=True)
    )
    editor = set(Group.objects.get(name="Éditeur").permissions.values_list("codename", flat=True))
    assert {"add_article", "change_article", "view_article"} <= journalist
    assert "publish_article" not in journalist
    assert {"publish_article", "delete_article", "add_correction"} <= editor
    assert {"send_issue", "add_issue", "view_subscriber", "add_tag"} <= editor
    assert "send_issue" not in journalist


def _edit(client, article, **changes):
    article.refresh_from_db()
    return client.post(change_url(article), admin_article_data(article, **changes))


def _action(client, action, article):
    return client.post(CHANGELIST, {"action": action, "_selected_action": [article.pk]})


def attempt(role_client, action, owner, other_owner):
    """Try ``action`` and return True when it took effect."""
    if action == "create draft":
        section, author = make_section(), make_author()
        role_client.post(
            ADD,
            admin_article_data(slug="creation", section=section.pk, authors=[author.pk]),
        )
        return Article.objects.filter(slug="creation").exists()
    if action == "edit own draft":
        article = draft_of(owner)
        _edit(role_client, article, title="Titre revu")
        article.refresh_from_db()
        return article.title == "Titre revu"
    if action == "edit other's draft":
        article = draft_of(other_owner)
        _edit(role_client, article, title="Titre revu")
        article.refresh_from_db()
        return article.title == "Titre revu"
    if action == "edit own article in review":
        article = draft_of(owner, status=Article.Status.REVIEW)
        _edit(role_client, article, title="Titre revu")
        article.refresh_from_db()
        return article.title == "Titre revu"
    if action == "submit own draft":
        article = draft_of(owner)
        _action(role_client, "submit_for_review", article)
        article.refresh_from_db()
        return article.status == Article.Status.REVIEW
    if action == "submit other's draft":
        article = draft_of(other_owner)
        _action(role_client, "submit_for_review", article)
        article.refresh_from_db()
        return article.status == Article.Status.REVIEW
    if action == "publish through the form":
        article = draft_of(owner)
        _edit(role_client, article, status=Article.Status.PUBLISHED)
        article.refresh_from_db()
        return article.status == Article.Status.PUBLISHED
    if action == "publish through the action":
        article = draft_of(owner, status=Article.Status.REVIEW)
        _action(role_client, "publish", article)
        article.refresh_from_db()
        return article.status == Article.Status.PUBLISHED
    if action == "schedule":
        article = draft_of(owner)
        later = timezone.localtime() + timedelta(days=2)
        _edit(
            role_client,
            article,
            status=Article.Status.PUBLISHED,
            published_at_0=f"{later:%d/%m/%Y}",
            published_at_1=f"{later:%H:%M:%S}",
        )
        article.refresh_from_db()
        return article.is_scheduled
    if action == "set a date on own draft":
        article = draft_of(owner)
        _edit(role_client, article, published_at_0="01/01/2030", published_at_1="10:00:00")
        article.refresh_from_db()
        return article.published_at is not None
    if action == "unpublish":
        article = make_article(authors=[owner.author_profile])
        _action(role_client, "unpublish", article)
        article.refresh_from_db()
        return article.status == Article.Status.DRAFT
    if action == "delete a published article":
        article = make_article(authors=[owner.author_profile], created_by=owner)
        role_client.post(
            reverse("admin:articles_article_delete", args=[article.pk]), {"post": "yes"}
        )
        return not Article.objects.filter(pk=article.pk).exists()
    if action == "bulk-delete a published article":
        article = make_article(authors=[owner.author_profile], created_by=owner)
        role_client.post(
            CHANGELIST,
            {"action": "delete_selected", "_selected_action": [article.pk], "post": "yes"},
        )
        return not Article.objects.filter(pk=article.pk).exists()
    if action == "delete own draft":
        article = draft_of(owner)
        role_client.post(
            reverse("admin:articles_article_delete", args=[article.pk]), {"post": "yes"}
        )
        return not Article.objects.filter(pk=article.pk).exists()
    raise AssertionError(action)


MATRIX = {
    # action: (journalist, editor, superuser)
    "create draft": (True, True, True),
    "edit own draft": (True, True, True),
    "edit other's draft": (False, True, True),
    "edit own article in review": (False, True, True),
    "submit own draft": (True, True, True),
    "submit other's draft": (False, True, True),
    "publish through the form": (False, True, True),
    "publish through the action": (False, True, True),
    "schedule": (False, True, True),
    "set a date on own draft": (False, True, True),
    "unpublish": (False, True, True),
    "delete a published article": (False, True, True),
    "bulk-delete a published article": (False, True, True),
    "delete own draft": (True, True, True),
}


@pytest.mark.parametrize("action", MATRIX)
@pytest.mark.parametrize("role", ["journalist", "editor", "superuser"])
def test_role_matrix(newsroom, role, action):
    """Each role can do exactly what its column allows, whatever it posts."""
    alice, alice_client = newsroom["alice"]
    bruno, _ = newsroom["bruno"]
    client = {
        "journalist": alice_client,
        "editor": newsroom["editor"][1],
        "superuser": newsroom["superuser"][1],
    }[role]
    expected = MATRIX[action][["journalist", "editor", "superuser"].index(role)]
    assert attempt(client, action, alice, bruno) is expected


def test_journalist_reads_colleagues_articles_without_editing(newsroom):
    """A journalist may open another's article, read-only; a POST to it is refused."""
    alice, alice_client = newsroom["alice"]
    bruno, _ = newsroom["bruno"]
    article = draft_of(bruno)
    page = alice_client.get(change_url(article))
    assert page.status_code == 200
    assert 'name="title"' not in page.content.decode()
    assert _edit(alice_client, article, title="Piraté").status_code == 403


def test_journalist_only_sees_draft_and_review_statuses(newsroom):
    """The journalist's status menu offers draft and review only; no date field."""
    alice, client = newsroom["alice"]
    content = client.get(change_url(draft_of(alice))).content.decode()
    assert 'value="review"' in content
    assert 'value="published"' not in content
    assert 'name="published_at_0"' not in content


def test_journalist_new_article_is_signed_and_stamped(newsroom):
    """An article a journalist creates carries their byline and who created it."""
    alice, client = newsroom["alice"]
    section = make_section()
    response = client.post(ADD, admin_article_data(slug="par-alice", section=section.pk))
    assert response.status_code == 302
    article = Article.objects.get(slug="par-alice")
    assert article.created_by == alice and article.updated_by == alice
    assert list(article.authors.all()) == [alice.author_profile]


# Scheduling and the list -------------------------------------------------------------


def test_scheduled_article_shows_newsroom_and_paris_times(admin_client):
    """The list marks scheduled articles and gives the time in Almaty and in Paris."""
    make_article(
        title="Programmé",
        published_at=datetime(2031, 1, 15, 10, 0, tzinfo=UTC),
    )
    content = admin_client.get(CHANGELIST).content.decode()
    assert "Programmé" in content
    assert "15/01/2031 15:00 (Almaty)" in content
    assert "15/01/2031 11:00 (Paris)" in content


@pytest.mark.parametrize(
    ("etat", "expected"),
    [
        ("draft", "Brouillon A"),
        ("review", "Relecture B"),
        ("scheduled", "Futur C"),
        ("live", "En ligne D"),
    ],
)
def test_status_filter(admin_client, etat, expected):
    """The status filter separates drafts, review, scheduled and live articles."""
    make_article(title="Brouillon A", published=False)
    make_article(title="Relecture B", published=False, status=Article.Status.REVIEW)
    make_article(title="Futur C", published_at=timezone.now() + timedelta(days=1))
    make_article(title="En ligne D")
    content = admin_client.get(CHANGELIST, {"etat": etat}).content.decode()
    titles = {"Brouillon A", "Relecture B", "Futur C", "En ligne D"}
    assert [t for t in titles if f">{t}<" in content] == [expected]


def test_author_filter(admin_client):
    """The list filters by author."""
    author = make_author(name="Nourlan")
    make_article(title="Signé Nourlan", authors=[author])
    make_article(title="Signé autrui")
    content = admin_client.get(CHANGELIST, {"authors__id__exact": author.pk}).content.decode()
    assert "Signé Nourlan" in content and "Signé autrui" not in content


def test_scheduled_article_becomes_public_on_its_own():
    """No job is needed: a scheduled article is public as soon as its time comes."""
    article = make_article(published_at=timezone.now() + timedelta(seconds=30))
    assert not Article.objects.published().filter(pk=article.pk).exists()
    Article.objects.filter(pk=article.pk).update(published_at=timezone.now())
    assert Article.objects.published().filter(pk=article.pk).exists()


# Publishing checks ---------------------------------------------------------------------


def test_publishing_an_incomplete_article_says_what_is_missing(admin_client):
    """Publishing without standfirst, byline, or image description is refused,
    each problem next to its field."""
    article = make_article(published=False, authors=[], hero_image=image_upload())
    response = _edit(
        admin_client,
        article,
        status=Article.Status.PUBLISHED,
        standfirst="",
        hero_image_alt="",
        authors=[],
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "Ajoutez au moins une signature avant de publier." in content
    assert "Décrivez l’image principale (texte alternatif) avant de publier." in content
    assert "Ce champ est obligatoire." in content  # standfirst, by Django's own check
    article.refresh_from_db()
    assert article.status == Article.Status.DRAFT


def test_publish_action_refuses_incomplete_articles_and_says_why(admin_client):
    """The publish action skips incomplete articles and lists what they lack."""
    incomplete = make_article(published=False, authors=[])
    complete = make_article(published=False)
    response = admin_client.post(
        CHANGELIST,
        {"action": "publish", "_selected_action": [incomplete.pk, complete.pk]},
        follow=True,
    )
    content = response.content.decode()
    assert "n’a pas été publié" in content and "signature" in content
    incomplete.refresh_from_db(), complete.refresh_from_db()
    assert incomplete.status == Article.Status.DRAFT
    assert complete.is_public


# Revisions -------------------------------------------------------------------------------


def test_every_save_keeps_a_revision_with_who_and_what(newsroom):
    """Each admin save records who saved, when, and which fields changed."""
    editor, client = newsroom["editor"]
    article = make_article(published=False)
    _edit(client, article, title="Premier titre")
    _edit(client, article, standfirst="Nouveau chapô.")
    revisions = list(ArticleRevision.objects.filter(article=article).order_by("pk"))
    assert len(revisions) == 2
    assert revisions[-1].created_by == editor
    assert revisions[-1].changed_fields == ["standfirst"]
    assert revisions[-1].data["standfirst"] == "Nouveau chapô."


def test_editor_sees_history_and_restores_an_earlier_version(newsroom):
    """The history shows each change; restoring brings the content back as a new revision."""
    _, client = newsroom["editor"]
    article = make_article(published=False, body="<p>Version originale du texte.</p>")
    _edit(client, article)  # revision 1: the original
    _edit(client, article, body="<p>Version fautive du texte.</p>", title="Titre fautif")
    first = ArticleRevision.objects.filter(article=article).order_by("pk").first()

    history = client.get(reverse("admin:articles_article_revisions", args=[article.pk]))
    content = history.content.decode()
    assert "<del>originale </del><ins>fautive </ins>" in content
    assert "Restaurer la version" in content

    response = client.post(reverse("admin:articles_article_restore", args=[article.pk, first.pk]))
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.body == "<p>Version originale du texte.</p>"
    latest = ArticleRevision.objects.filter(article=article).order_by("pk").last()
    assert latest.note.startswith("Restauration de la version")
    assert ArticleRevision.objects.filter(article=article).count() == 3


def test_journalist_cannot_restore(newsroom):
    """Restoring is for editors: a journalist's POST is refused."""
    alice, client = newsroom["alice"]
    article = draft_of(alice)
    _edit(client, article)
    revision = ArticleRevision.objects.get(article=article)
    response = client.post(
        reverse("admin:articles_article_restore", args=[article.pk, revision.pk])
    )
    assert response.status_code == 403


def test_restore_needs_post(admin_client):
    """Restoring changes data, so a GET is refused."""
    article = make_article()
    _edit(admin_client, article)
    revision = ArticleRevision.objects.get(article=article)
    url = reverse("admin:articles_article_restore", args=[article.pk, revision.pk])
    assert admin_client.get(url).status_code == 405


# Stale edits -------------------------------------------------------------------------------


def test_stale_copy_is_refused_and_shows_the_other_change(newsroom):
    """Two people open the same article; the second save is refused with a link
    to what the first changed, and the first save stays."""
    editor, editor_client = newsroom["editor"]
    root, root_client = newsroom["superuser"]
    article = make_article(published=False, title="Titre d’origine")
    stale = admin_article_data(article)  # both loaded this version

    first = editor_client.post(change_url(article), {**stale, "title": "Titre de l’éditrice"})
    assert first.status_code == 302
    second = root_client.post(change_url(article), {**stale, "title": "Titre de root"})

    content = second.content.decode()
    assert second.status_code == 200
    assert "a été modifié par edith" in content
    assert "Titre de root" in content  # the refused input is still in the form
    changes_link = reverse("admin:articles_article_revisions", args=[article.pk])
    assert f'href="{changes_link}?depuis={stale["loaded_version"]}"' in content
    article.refresh_from_db()
    assert article.title == "Titre de l’éditrice"

    diff = root_client.get(f"{changes_link}?depuis={stale['loaded_version']}").content.decode()
    assert "Titre de l’éditrice" in diff


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_simultaneous_saves_of_one_version_let_only_one_through():
    """Two saves of the same version at the same moment: one passes, one is refused."""
    Group.objects.get_or_create(name="Éditeur")
    users = [make_user(superuser=True, username=f"sim{i}") for i in range(2)]
    article = make_article(published=False)
    data = admin_article_data(article)
    barrier = threading.Barrier(2)
    statuses = []

    def save(user, title):
        client = client_for(user)
        barrier.wait()
        statuses.append(client.post(change_url(article), {**data, "title": title}).status_code)
        connection.close()

    threads = [threading.Thread(target=save, args=(u, f"Titre {i}")) for i, u in enumerate(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 302]
    article.refresh_from_db()
    assert article.version == data["loaded_version"] + 1


# Slugs, corrections ----------------------------------------------------------------------


def test_renaming_a_published_article_keeps_the_old_address(client, admin_client):
    """The old address of a published article redirects permanently to the new one."""
    article = make_article(slug="ancienne-adresse")
    _edit(admin_client, article, slug="nouvelle-adresse")
    response = client.get("/article/ancienne-adresse/")
    assert response.status_code == 301
    assert response["Location"] == "/article/nouvelle-adresse/"
    assert client.get("/article/nouvelle-adresse/").status_code == 200


def test_renaming_back_does_not_loop(client, admin_client):
    """Changing a slug and changing it back serves the article at its address."""
    article = make_article(slug="aller")
    _edit(admin_client, article, slug="retour")
    _edit(admin_client, article, slug="aller")
    assert client.get("/article/aller/").status_code == 200
    assert client.get("/article/retour/")["Location"] == "/article/aller/"


def test_renaming_a_draft_creates_no_redirect(client, admin_client):
    """A draft's old address was never public: no redirect is kept."""
    article = make_article(published=False, slug="brouillon-a")
    _edit(admin_client, article, slug="brouillon-b")
    assert client.get("/article/brouillon-a/").status_code == 404


def _with_correction(article, text, when):
    data = admin_article_data(article)
    data.update(
        {
            "corrections-TOTAL_FORMS": "1",
            "corrections-0-text": text,
            "corrections-0-corrected_at_0": f"{when:%d/%m/%Y}",
            "corrections-0-corrected_at_1": f"{when:%H:%M:%S}",
        }
    )
    return data


def test_editor_attaches_corrections_shown_newest_first(client, newsroom):
    """Corrections appear at the end of the article, newest first, and the article
    shows a new modification date."""
    _, editor_client = newsroom["editor"]
    article = make_article(published_at=timezone.now() - timedelta(days=3))
    Article.objects.filter(pk=article.pk).update(updated_at=article.published_at)
    article.refresh_from_db()
    before = article.updated_at
    old = timezone.localtime() - timedelta(days=2)
    new = timezone.localtime() - timedelta(days=1)
    editor_client.post(change_url(article), _with_correction(article, "Première erreur.", old))
    article.refresh_from_db()
    editor_client.post(change_url(article), _with_correction(article, "Seconde erreur.", new))

    assert Correction.objects.filter(article=article).count() == 2
    article.refresh_from_db()
    assert article.updated_at > before
    content = client.get(article.get_absolute_url()).content.decode()
    corrections = content[content.index('<h2 id="corrections-title">') :]
    assert corrections.index("Seconde erreur.") < corrections.index("Première erreur.")
    assert "mis à jour le" in content


def test_journalist_cannot_add_corrections(newsroom):
    """Corrections are the editors' job: a journalist's posted correction is ignored."""
    alice, client = newsroom["alice"]
    article = draft_of(alice)
    client.post(change_url(article), _with_correction(article, "Tentative.", timezone.now()))
    assert not Correction.objects.exists()


CORRECTION_RIGHTS = [
    "articles.change_article",
    "articles.add_correction",
    "articles.change_correction",
    "articles.delete_correction",
]


def correction_inline(client, article):
    """The correction inline of the article's change form, as ``client`` gets it."""
    response = client.get(change_url(article))
    assert response.status_code == 200
    [inline] = [
        inline
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.model is Correction
    ]
    return inline


def inline_rights(inline):
    """Whether the inline lets its user add, change and delete."""
    return (inline.has_add_permission, inline.has_change_permission, inline.has_delete_permission)


def _adding_a_correction(article, prefix, text):
    now = timezone.localtime()
    return admin_article_data(
        article,
        **{
            f"{prefix}-TOTAL_FORMS": "1",
            f"{prefix}-0-text": text,
            f"{prefix}-0-corrected_at_0": f"{now:%d/%m/%Y}",
            f"{prefix}-0-corrected_at_1": f"{now:%H:%M:%S}",
        },
    )


def test_correction_permissions_alone_do_not_let_staff_add_corrections():
    """Staff who hold every correction permission but not the editor's right
    (publish_article) see a published article's correction inline read-only, with
    no form to fill in, and a posted correction is refused; an editor adds one."""
    article = make_article()
    staff = client_for(make_user(perms=CORRECTION_RIGHTS))
    editor = client_for(make_user(perms=[*CORRECTION_RIGHTS, "articles.publish_article"]))

    inline = correction_inline(staff, article)
    assert inline_rights(inline) == (False, False, False)
    assert inline.formset.max_num == 0
    data = _adding_a_correction(article, inline.formset.prefix, "Tentative.")
    assert staff.post(change_url(article), data).status_code == 403
    assert not Correction.objects.exists()

    inline = correction_inline(editor, article)
    assert inline_rights(inline) == (True, True, True)
    data = _adding_a_correction(article, inline.formset.prefix, "Le chiffre était faux.")
    assertRedirects(editor.post(change_url(article), data), CHANGELIST)
    assert list(Correction.objects.values_list("text", flat=True)) == ["Le chiffre était faux."]


def test_the_correction_inline_itself_refuses_non_editors(monkeypatch):
    """The correction inline asks for the editor's right itself: shown on a form
    that staff without it may save (their own draft, which today has no such
    inline), it offers no form and ignores a posted correction."""
    monkeypatch.setattr(ArticleAdmin, "get_inlines", lambda self, request, obj: [CorrectionInline])
    user = make_user(perms=CORRECTION_RIGHTS)
    make_author(user=user)
    article = draft_of(user)
    staff = client_for(user)

    inline = correction_inline(staff, article)
    assert inline_rights(inline) == (False, False, False)
    assert inline.formset.max_num == 0
    data = _adding_a_correction(article, inline.formset.prefix, "Tentative.")
    assertRedirects(staff.post(change_url(article), data), CHANGELIST)
    assert not Correction.objects.exists()
