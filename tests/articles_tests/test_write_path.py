"""One write path: every writer saves the article, then takes the same step
(revisions.after_edit); the field list is written once, in revisions.py."""

import pytest
from django.contrib.admin.sites import site
from django.core.management import call_command
from django.urls import reverse

from articles import revisions
from articles.admin import ArticleAdmin
from articles.forms import ArticleAdminForm
from articles.models import Article, ArticleRevision
from tests.factories import (
    admin_article_data,
    image_upload,
    make_article,
    make_author,
    make_section,
    make_user,
)

pytestmark = pytest.mark.django_db


def test_the_form_the_fieldsets_and_the_revisions_read_one_field_list(rf):
    """The admin form, its fieldsets and a revision's snapshot hold exactly the
    editable fields of revisions.py, in its order."""
    form_fields = [name for name in ArticleAdminForm.base_fields if name != "loaded_version"]
    assert form_fields == revisions.EDITABLE_FIELDS
    admin = ArticleAdmin(Article, site)
    fieldset_fields = [
        name
        for _, options in admin.get_fieldsets(rf.get("/"), None)
        for name in options["fields"]
        if name not in ("loaded_version", "focal_point")  # a hidden field, the picker
    ]
    assert sorted(fieldset_fields) == sorted(revisions.EDITABLE_FIELDS)
    assert list(revisions.snapshot(make_article())) == revisions.EDITABLE_FIELDS


def test_the_admin_the_actions_a_restore_and_the_demo_all_record_revisions(admin_client):
    """Each writer leaves a revision whose content is the article as saved."""
    user = admin_client.session["_auth_user_id"]
    section, author = make_section(), make_author()
    admin_client.post(
        reverse("admin:articles_article_add"),
        admin_article_data(slug="ecrit", section=section.pk, authors=[author.pk]),
    )
    article = Article.objects.get(slug="ecrit")
    admin_client.post(
        reverse("admin:articles_article_changelist"),
        {"action": "submit_for_review", "_selected_action": [article.pk]},
    )
    first = article.revisions.order_by("pk").first()
    admin_client.post(reverse("admin:articles_article_restore", args=[article.pk, first.pk]))
    notes = list(article.revisions.order_by("pk").values_list("note", flat=True))
    assert notes == ["", "Soumis à la relecture", "Restauration de la version 1"]
    article.refresh_from_db()
    latest = article.revisions.order_by("pk").last()
    assert latest.data == revisions.snapshot(article)
    assert str(latest.created_by_id) == user

    call_command("load_demo_content", verbosity=0)
    demo = Article.objects.exclude(pk=article.pk)
    assert demo.exists()
    for item in demo:
        (revision,) = item.revisions.all()
        assert revision.note == "Contenu de démonstration"
        assert revision.data == revisions.snapshot(item)


def test_a_new_article_gets_its_authors_byline_whoever_writes_it():
    """after_edit gives a new article without byline its author's; an article
    with bylines, or an edit, keeps what it has."""
    writer = make_user(username="plume")
    byline = make_author(user=writer)
    article = make_article(authors=[])
    revisions.after_edit(article, writer, created=True)
    assert list(article.authors.all()) == [byline]
    other = make_article(authors=[])
    revisions.after_edit(other, writer)
    assert not other.authors.exists()


def test_restoring_brings_the_focal_point_back_and_old_revisions_read_as_centred():
    """The focal point is content: a restore brings it back; a revision written
    before the field existed reads as the centre, and shows no change of it."""
    article = make_article(hero_image=image_upload(width=900, height=600), hero_focal_x=0.2)
    first = revisions.after_edit(article, None)
    article.hero_focal_x = 0.8
    article.save()
    second = revisions.after_edit(article, None)
    assert second.changed_fields == ["hero_focal_x"]
    revisions.restore(article, first, None)
    article.refresh_from_db()
    assert article.hero_focal_x == 0.2
    assert article.hero_renditions["key"].endswith("|0.200|0.500|v2")


def test_fields_added_after_a_revision_read_as_a_new_article_has_them():
    """A revision written before the translation fields (or any later field)
    existed shows no change of them: text fields read as empty, lists as empty."""
    article = make_article()
    old = revisions.after_edit(article, None)
    added = ("original_language", "original_title", "original_url", "translators")
    data = {name: value for name, value in old.data.items() if name not in added}
    assert revisions.diff_data(data, revisions.snapshot(article)) == []
    ArticleRevision.objects.filter(pk=old.pk).update(data=data)
    assert revisions.record(article, None).changed_fields == []


def test_a_revision_older_than_the_focal_point_reads_as_centred():
    """A revision written before the focal point existed reads as the centre: it
    shows no change of it, and restoring it centres the crops."""
    article = make_article(hero_image=image_upload(width=900, height=600))
    old = revisions.after_edit(article, None)
    data = {k: v for k, v in old.data.items() if k not in ("hero_focal_x", "hero_focal_y")}
    ArticleRevision.objects.filter(pk=old.pk).update(data=data)
    old.refresh_from_db()
    assert revisions.diff_data(data, revisions.snapshot(article)) == []
    assert revisions.record(article, None).changed_fields == []
    article.hero_focal_x = 0.9
    article.save()
    revisions.restore(article, old, None)
    article.refresh_from_db()
    assert (article.hero_focal_x, article.hero_focal_y) == (0.5, 0.5)


def test_a_post_without_the_focal_point_keeps_the_stored_one(admin_client):
    """The picker's fields are optional: a form posted without them (an older
    page) keeps the article's focal point instead of failing."""
    article = make_article(hero_focal_x=0.3, hero_focal_y=0.7)
    data = admin_article_data(article, title="Titre revu")
    data.pop("hero_focal_x", None)
    data.pop("hero_focal_y", None)
    response = admin_client.post(reverse("admin:articles_article_change", args=[article.pk]), data)
    assert response.status_code == 302
    article.refresh_from_db()
    assert (article.title, article.hero_focal_x, article.hero_focal_y) == ("Titre revu", 0.3, 0.7)
