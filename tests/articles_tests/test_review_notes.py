"""Notes in review (#11 §5): the newsroom leaves notes on an article in the
admin, resolves them, sees them in the review list, and an editor sends an
article back to its author with a note, which the author receives by email.
Notes never reach readers."""

import re
from email import message_from_bytes, policy

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from articles.models import Article, ArticleNote, ArticleRevision, PreviewLink
from tests.factories import (
    change_url,
    client_for,
    make_article,
    make_author,
    make_member,
    make_user,
)

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:articles_article_changelist")
REVIEW_LIST = f"{CHANGELIST}?etat=review"


def add_note_url(article):
    return reverse("admin:articles_article_add_note", args=[article.pk])


def resolve_url(note):
    return reverse("admin:articles_article_resolve_note", args=[note.article_id, note.pk])


def send_back_url(article):
    return reverse("admin:articles_article_send_back", args=[article.pk])


@pytest.fixture
def newsroom():
    """Two journalists with bylines and addresses, an editor; their clients."""
    alice = make_member("Journaliste", username="alice", email="alice@exemple.fr")
    bruno = make_member("Journaliste", username="bruno", email="bruno@exemple.fr")
    editor = make_member(
        "Éditeur", username="edith", email="edith@exemple.fr", first_name="Édith", last_name="Roy"
    )
    make_author(name="Alice", user=alice)
    make_author(name="Bruno", user=bruno)
    return {
        "alice": (alice, client_for(alice)),
        "bruno": (bruno, client_for(bruno)),
        "editor": (editor, client_for(editor)),
    }


def in_review(user, **fields):
    """An article ``user`` wrote and submitted for review."""
    article = make_article(
        published=False, status=Article.Status.REVIEW, authors=[user.author_profile], **fields
    )
    Article.objects.filter(pk=article.pk).update(created_by=user)
    article.refresh_from_db()
    return article


# Writing and resolving notes -----------------------------------------------------------


def test_whoever_may_view_an_article_leaves_a_note_shown_on_its_page(newsroom):
    """A journalist whose colleague's article in review is read-only to them
    still leaves a note; the article's page lists it with who wrote it and when,
    and the article itself is untouched (no new version, no new revision)."""
    alice, _ = newsroom["alice"]
    bruno, bruno_client = newsroom["bruno"]
    article = in_review(alice)
    version = article.version

    page = bruno_client.get(change_url(article))
    assertContains(page, 'id="notes"')
    assertContains(page, 'name="note-text"')
    response = bruno_client.post(
        add_note_url(article), {"note-text": "Vérifier le chiffre du 2e §."}
    )
    assertRedirects(response, change_url(article) + "#notes", fetch_redirect_response=False)

    note = ArticleNote.objects.get(article=article)
    assert (note.created_by, note.text, note.is_resolved) == (
        bruno,
        "Vérifier le chiffre du 2e §.",
        False,
    )
    article.refresh_from_db()
    assert article.version == version
    assert not ArticleRevision.objects.filter(article=article).exists()
    page = bruno_client.get(change_url(article))
    assertContains(page, "Vérifier le chiffre du 2e §.")
    assertContains(page, "Une note de relecture est à régler.")
    assertContains(page, "<strong>bruno</strong>", html=False)


def test_notes_need_the_right_to_view_the_article():
    """Staff without the article's permissions neither see nor write notes;
    the note views answer only POST."""
    article = make_article(published=False)
    outsider = client_for(make_user())
    assert outsider.post(add_note_url(article), {"note-text": "Intrusion"}).status_code == 403
    assert not ArticleNote.objects.exists()
    editor = client_for(make_member("Éditeur"))
    assert editor.get(add_note_url(article)).status_code == 405


def test_an_empty_note_is_refused_in_french_and_a_long_one_keeps_its_text(newsroom):
    """A blank note gets a French message next to the field; a note over the
    limit is shown again, its text kept, and nothing is saved."""
    alice, client = newsroom["alice"]
    article = in_review(alice)
    response = client.post(add_note_url(article), {"note-text": "   "})
    assertContains(response, "Ce champ est obligatoire.")
    long_text = "Trop long. " * 400
    response = client.post(add_note_url(article), {"note-text": long_text})
    assert response.status_code == 200
    assertContains(response, "Trop long. Trop long.")
    assertContains(response, "au plus 4000 caractères")
    assert not ArticleNote.objects.exists()


def test_only_the_notes_author_or_an_editor_resolves_it(newsroom):
    """Another journalist may not mark a note as resolved; its author may, and
    an editor may resolve anyone's. The page then shows who resolved it."""
    alice, alice_client = newsroom["alice"]
    bruno, bruno_client = newsroom["bruno"]
    editor, editor_client = newsroom["editor"]
    article = in_review(alice)
    by_bruno = ArticleNote.objects.create(article=article, created_by=bruno, text="Source ?")
    by_editor = ArticleNote.objects.create(article=article, created_by=editor, text="Titre ?")

    page = alice_client.get(change_url(article)).content.decode()
    assert resolve_url(by_bruno) not in page and resolve_url(by_editor) not in page
    assert alice_client.post(resolve_url(by_bruno)).status_code == 403
    assert alice_client.get(resolve_url(by_bruno)).status_code == 405

    assert resolve_url(by_bruno) in bruno_client.get(change_url(article)).content.decode()
    bruno_client.post(resolve_url(by_bruno))
    editor_client.post(resolve_url(by_editor))
    by_bruno.refresh_from_db()
    by_editor.refresh_from_db()
    assert (by_bruno.resolved_by, by_editor.resolved_by) == (bruno, editor)
    assertContains(alice_client.get(change_url(article)), "réglée par bruno le")
    assert not ArticleNote.objects.open().exists()


def test_the_review_list_shows_each_articles_open_notes_in_constant_queries(newsroom):
    """Filtered on « En relecture », the list shows how many notes are still to
    resolve and the latest one; resolved notes do not count, and the list's
    query count does not grow with the number of articles or notes."""
    alice, _ = newsroom["alice"]
    bruno, _ = newsroom["bruno"]
    _, editor_client = newsroom["editor"]
    article = in_review(alice, title="Le barrage de Rogun")
    ArticleNote.objects.create(article=article, created_by=bruno, text="Première remarque.")
    ArticleNote.objects.create(article=article, created_by=bruno, text="Dernière remarque.")
    done = ArticleNote.objects.create(article=article, created_by=bruno, text="Déjà réglée.")
    done.resolve(bruno)

    response = editor_client.get(REVIEW_LIST)
    assertContains(response, "Notes à régler")
    row = re.search(r"<tr>.*?Le barrage de Rogun.*?</tr>", response.content.decode(), re.S).group()
    assert '<span class="open-notes">2 notes</span>' in row
    assert "Dernière remarque." in row and "Déjà réglée." not in row

    with CaptureQueriesContext(connection) as few:
        editor_client.get(REVIEW_LIST)
    for index in range(4):
        other = in_review(alice, title=f"Autre article {index}")
        for number in range(3):
            ArticleNote.objects.create(article=other, created_by=bruno, text=f"Note {number}")
    with CaptureQueriesContext(connection) as many:
        assertContains(editor_client.get(REVIEW_LIST), "Autre article 3")
    assert len(many.captured_queries) == len(few.captured_queries)


# Sending an article back ----------------------------------------------------------------


def test_an_editor_sends_an_article_back_and_its_author_gets_the_note_by_email(
    newsroom, smtp_server, django_capture_on_commit_callbacks
):
    """From the article's page, « Renvoyer à l’auteur avec une note » asks for the
    note; the article goes back to draft (a revision says why), the note is on
    it, and its author (not the editor, not other journalists) receives it
    through the mail server, with a link back to the article; replies go to the
    editor."""
    alice, _ = newsroom["alice"]
    editor, client = newsroom["editor"]
    article = in_review(alice, title="Le corridor médian")

    page = client.get(change_url(article))
    assertContains(page, send_back_url(article))
    form = client.get(send_back_url(article))
    assertContains(form, "Cet article repasse en brouillon")
    # The mail is queued when the note is committed, not before.
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = client.post(
            send_back_url(article), {"note-text": "Le 3e intertitre promet\nplus que le texte."}
        )
    assert len(queued) == 1
    assertRedirects(response, REVIEW_LIST, fetch_redirect_response=False)

    article.refresh_from_db()
    assert article.status == Article.Status.DRAFT
    assert ArticleRevision.objects.filter(article=article).latest("pk").note == (
        "Renvoyé à l’auteur avec une note"
    )
    note = ArticleNote.objects.get(article=article)
    assert note.created_by == editor and not note.is_resolved

    assert len(smtp_server) == 1
    envelope = smtp_server[0]
    assert envelope.rcpt_tos == ["alice@exemple.fr"]
    message = message_from_bytes(envelope.content, policy=policy.default)
    # The encoded subject is folded after "Subject:", hence the leading space.
    assert message["Subject"].lstrip() == "« Le corridor médian » vous est renvoyé avec une note"
    assert message["Reply-To"] == "edith@exemple.fr"
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(("html",)).get_content()
    assert "Édith Roy a relu « Le corridor médian »" in text
    assert "Le 3e intertitre promet\nplus que le texte." in text
    assert f"http://testserver{change_url(article)}" in text
    assert "Le 3e intertitre promet<br>plus que le texte." in html
    assert f'href="http://testserver{change_url(article)}"' in html


def test_the_send_back_action_asks_once_for_the_note_of_several_articles(
    newsroom, mailoutbox, django_capture_on_commit_callbacks
):
    """From the list, the action's page lists the selected articles in review
    and asks for a note; each goes back to draft with it and its authors are
    mailed. A selected draft is left alone."""
    alice, _ = newsroom["alice"]
    bruno, _ = newsroom["bruno"]
    _, client = newsroom["editor"]
    first, second = in_review(alice, title="Premier"), in_review(bruno, title="Second")
    draft = make_article(published=False, title="Brouillon")
    selected = {"action": "send_back", "_selected_action": [first.pk, second.pk, draft.pk]}

    page = client.post(REVIEW_LIST, selected)
    assertContains(page, "Ces 2 articles repassent en brouillon")
    assertNotContains(page, "Brouillon</a>")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            REVIEW_LIST,
            {
                "action": "send_back",
                "_selected_action": [first.pk, second.pk],
                "apply": "1",
                "note-text": "Sources à citer.",
            },
        )
    assert response.status_code == 302
    for article in (first, second):
        article.refresh_from_db()
        assert article.status == Article.Status.DRAFT
        assert article.notes.get().text == "Sources à citer."
    assert sorted(message.to[0] for message in mailoutbox) == [
        "alice@exemple.fr",
        "bruno@exemple.fr",
    ]
    draft.refresh_from_db()
    assert draft.status == Article.Status.DRAFT and not draft.notes.exists()


def test_a_blank_note_sends_nothing_back(newsroom, mailoutbox):
    """Sending back needs a note: a blank one shows the page again with a French
    message, and the article stays in review."""
    alice, _ = newsroom["alice"]
    _, client = newsroom["editor"]
    article = in_review(alice)
    response = client.post(send_back_url(article), {"note-text": ""})
    assertContains(response, "Ce champ est obligatoire.")
    article.refresh_from_db()
    assert article.status == Article.Status.REVIEW and mailoutbox == []


def test_only_editors_send_back_and_only_articles_in_review(newsroom, mailoutbox):
    """Journalists have neither the action nor the page; an article no longer
    in review is not sent back (the editor is told), and one whose authors have
    no address is sent back with a warning to tell them otherwise."""
    _, alice_client = newsroom["alice"]
    bruno, _ = newsroom["bruno"]
    _, editor_client = newsroom["editor"]
    article = in_review(bruno)
    assert alice_client.get(send_back_url(article)).status_code == 403
    actions = alice_client.get(CHANGELIST).context["action_form"].fields["action"].choices
    assert "send_back" not in dict(actions)

    draft = make_article(published=False)
    response = editor_client.get(send_back_url(draft), follow=True)
    assertContains(response, "Cet article n’est pas en relecture")

    freelance = make_article(
        published=False, status=Article.Status.REVIEW, authors=[make_author(name="Pigiste")]
    )
    response = editor_client.post(
        send_back_url(freelance), {"note-text": "À reprendre."}, follow=True
    )
    assertContains(response, "Aucun auteur n’a de compte avec une adresse e-mail")
    freelance.refresh_from_db()
    assert freelance.status == Article.Status.DRAFT and freelance.notes.exists()
    assert mailoutbox == []


# Never public ---------------------------------------------------------------------------


SECRET = "Zéphyrin confidentiel"


def test_a_notes_text_appears_nowhere_readers_or_sources_look(client):
    """A note's text is on no public page, feed, sitemap or search result, on no
    preview (shared link or staff), and in no revision; writing a note leaves
    cached public pages valid (its table does not move the content clock)."""
    author = make_author(name="Signature")
    article = make_article(title="Article relu", authors=[author])
    draft = make_article(published=False, title="Brouillon relu", authors=[author])
    link = PreviewLink.objects.create(article=draft, recipient="Une source")
    public_urls = [
        "/",
        article.get_absolute_url(),
        article.section.get_absolute_url(),
        author.get_absolute_url(),
        "/feed/",
        article.section.get_absolute_url() + "flux/",
        "/sitemap.xml",
        "/sitemap-news.xml",
    ]
    for url in public_urls:
        client.get(url)
    assert client.get(article.get_absolute_url())["X-Page-Cache"] == "hit"

    for target in (article, draft):
        ArticleNote.objects.create(article=target, text=f"{SECRET} : vérifier la source.")

    assert client.get(article.get_absolute_url())["X-Page-Cache"] == "hit"
    for url in public_urls:
        assert SECRET not in client.get(url).content.decode(), url
    search = client.get("/recherche/", {"q": "Zéphyrin"})
    assert SECRET not in search.content.decode()
    assert search.context["page"].paginator.count == 0
    assert SECRET not in client.get(link.get_absolute_url()).content.decode()
    staff = client_for(make_user(superuser=True))
    assert SECRET not in staff.get(draft.get_absolute_url()).content.decode()
    preview = reverse("admin:articles_article_preview", args=[draft.pk])
    assert SECRET not in staff.get(preview).content.decode()

    # Sent back with the note through the editor's page: the revision it leaves
    # says why, not what the note says.
    reviewed = make_article(published=False, status=Article.Status.REVIEW, authors=[author])
    staff.post(send_back_url(reviewed), {"note-text": f"{SECRET} : à reprendre."})
    revision = ArticleRevision.objects.get(article=reviewed)
    assert revision.note == "Renvoyé à l’auteur avec une note"
    assert reviewed.notes.get().text.startswith(SECRET)
    assert not any(
        SECRET in f"{note} {data}"
        for note, data in ArticleRevision.objects.values_list("note", "data")
    )


def test_both_roles_read_write_and_resolve_notes_but_delete_none():
    """The groups get the note permissions by migration; deleting a note is
    nobody's job (resolve it instead)."""
    for name in ("Journaliste", "Éditeur"):
        codenames = set(
            Group.objects.get(name=name).permissions.values_list("codename", flat=True)
        )
        assert {"add_articlenote", "change_articlenote", "view_articlenote"} <= codenames
        assert "delete_articlenote" not in codenames


def test_an_editor_deletes_an_article_with_notes(newsroom):
    """Notes go with their article: an editor's deletion is not refused for
    lack of a permission on notes."""
    alice, _ = newsroom["alice"]
    _, client = newsroom["editor"]
    article = in_review(alice)
    ArticleNote.objects.create(article=article, text="À supprimer avec l’article.")
    delete = reverse("admin:articles_article_delete", args=[article.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not Article.objects.filter(pk=article.pk).exists()
    assert not ArticleNote.objects.exists()
