"""Article history, and the step that follows every edit of an article.

Every writer (the admin's form and actions, a restore, the demo content) saves
the article, then calls ``after_edit``: it gives a new article its author's
byline and records a revision. The field list lives here, once; the form, the
admin's fieldsets, snapshots, comparisons and restores read it. What is derived
from the content (plain text, image copies) is made by the model's save and
its fields, for every writer, ORM included."""

import difflib
import re
from datetime import UTC, datetime

from django.core.files.storage import default_storage
from django.db import models
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from .models import Article, Author, OriginalLanguage, Section, Tag
from .sanitizer import html_to_text

# The article's fields as editors group them (the admin's fieldsets read these).
TEXT = ["title", "slug", "standfirst", "body"]
IMAGE = [
    "hero_image",
    "hero_image_alt",
    "hero_image_caption",
    "hero_image_credit",
    "hero_focal_x",
    "hero_focal_y",
]
PLACEMENT = ["section", "tags", "authors"]
TRANSLATION = ["original_language", "original_title", "original_url", "translators"]
PUBLICATION = ["status", "published_at", "is_featured"]
# The content: what a revision restores. Status and publication date are left
# as they are, so restoring never publishes or unpublishes by surprise.
CONTENT_FIELDS = [*TEXT, *IMAGE, *PLACEMENT, *TRANSLATION]
# What an editor edits in the article form, and what a revision keeps.
EDITABLE_FIELDS = [*CONTENT_FIELDS, *PUBLICATION]
TEXT_FIELDS = {"standfirst", "body"}
_WORDS = re.compile(r"\S+\s*")


def field_label(name):
    return Article._meta.get_field(name).verbose_name


def _stored(article, name):
    field = Article._meta.get_field(name)
    if field.many_to_many:
        return sorted(getattr(article, name).values_list("pk", flat=True)) if article.pk else []
    value = getattr(article, field.attname)
    if isinstance(field, models.FileField):
        return value.name or ""
    if isinstance(value, datetime):
        # In UTC, as the database gives it back: an instance's own time zone
        # must not read as a change.
        return value.astimezone(UTC).isoformat()
    return value


def snapshot(article):
    """The article's editable content, as a revision keeps it (JSON)."""
    return {name: _stored(article, name) for name in EDITABLE_FIELDS}


def _value(data, name):
    """A snapshot's value of ``name``; the field's default for a field added
    after the snapshot was taken."""
    if name in data:
        return data[name]
    field = Article._meta.get_field(name)
    if field.many_to_many:
        return []
    # As a new article stores it: the default, "" for text, None for the others.
    return _stored(Article(), name) if field.concrete else None


def record(article, user, note=""):
    """Keep a revision of the article as it now stands (bylines saved). Returns it."""
    data = snapshot(article)
    last = article.revisions.order_by("-created_at", "-pk").first()
    changed = [
        name for name, value in data.items() if last is None or _value(last.data, name) != value
    ]
    return article.revisions.create(
        created_by=user if user and user.is_authenticated else None,
        version=article.version,
        data=data,
        changed_fields=changed,
        note=note,
    )


def after_edit(article, user, *, created=False, note=""):
    """What follows every saved edit, whoever made it: a new article without a
    byline gets its author's, and a revision is recorded. Returns the revision."""
    if created and user is not None and user.is_authenticated and not article.authors.exists():
        profile = Author.objects.filter(user=user).first()
        if profile:
            article.authors.add(profile)
    return record(article, user, note)


def _display(name, value, names):
    if name == "section":
        return names["sections"].get(value, _("rubrique supprimée"))
    if name in ("authors", "tags", "translators"):
        people = names["tags" if name == "tags" else "authors"]
        return ", ".join(people.get(pk, "?") for pk in value or []) or "—"
    if name == "is_featured":
        return _("oui") if value else _("non")
    if name == "status":
        return Article.Status(value).label if value in Article.Status.values else value
    if name == "original_language" and value in OriginalLanguage.values:
        return OriginalLanguage(value).label
    return value if value not in (None, "") else "—"


def word_diff(before, after):
    """Inline diff of two texts: removed words in <del>, added words in <ins>."""
    old, new = _WORDS.findall(before or ""), _WORDS.findall(after or "")
    parts = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            parts.append(format_html("{}", "".join(old[a1:a2])))
            continue
        if a2 > a1:
            parts.append(format_html("<del>{}</del>", "".join(old[a1:a2])))
        if b2 > b1:
            parts.append(format_html("<ins>{}</ins>", "".join(new[b1:b2])))
    return mark_safe("".join(parts))


def diff_data(before, after):
    """The fields that differ between two snapshots, ready to show."""
    names = _names([before, after])
    changes = []
    for name in EDITABLE_FIELDS:
        old = _value(before, name) if before else None
        new = _value(after, name)
        if old == new:
            continue
        if name in TEXT_FIELDS:
            text_old = html_to_text(old or "") if name == "body" else old
            text_new = html_to_text(new or "") if name == "body" else new
            shown = word_diff(text_old, text_new)
        else:
            shown = format_html(
                "<del>{}</del> → <ins>{}</ins>",
                _display(name, old, names),
                _display(name, new, names),
            )
        changes.append({"label": field_label(name), "diff": shown})
    return changes


def _names(snapshots):
    section_ids = {s.get("section") for s in snapshots if s}
    people = ("authors", "translators")
    author_ids = {pk for s in snapshots if s for name in people for pk in s.get(name) or []}
    tag_ids = {pk for s in snapshots if s for pk in s.get("tags") or []}
    return {
        "sections": dict(Section.objects.filter(pk__in=section_ids).values_list("pk", "name")),
        "authors": dict(Author.objects.filter(pk__in=author_ids).values_list("pk", "name")),
        "tags": dict(Tag.objects.filter(pk__in=tag_ids).values_list("pk", "name")),
    }


def compare_revisions(revisions, since_version=None):
    """For the history page: each revision (newest first) with what it changed.
    With ``since_version``, also everything that changed since that version."""
    entries = []
    for index, revision in enumerate(revisions):
        previous = revisions[index + 1].data if index + 1 < len(revisions) else None
        entries.append({"revision": revision, "changes": diff_data(previous, revision.data)})
    since = None
    if since_version is not None and revisions:
        base = next((r for r in revisions if r.version <= int(since_version)), None)
        if base is not None and base is not revisions[0]:
            since = {
                "base": base,
                "latest": revisions[0],
                "changes": diff_data(base.data, revisions[0].data),
            }
    return {"entries": entries, "since": since}


def restore(article, revision, user):
    """Put the revision's content back into the article, save it and record it as
    a new revision. Returns a warning for what could not be restored, or ""."""
    data = revision.data
    skipped = []
    for name in CONTENT_FIELDS:
        field = Article._meta.get_field(name)
        value = _value(data, name)
        if field.many_to_many:
            continue  # once the article is saved
        if name == "slug":
            if value and not Article.objects.filter(slug=value).exclude(pk=article.pk).exists():
                article.slug = value
            elif value != article.slug:
                skipped.append(_("l’adresse (un autre article l’utilise)"))
        elif name == "section":
            if Section.objects.filter(pk=value).exists():
                article.section_id = value
            else:
                skipped.append(_("la rubrique (supprimée depuis)"))
        elif name == "hero_image":
            if not value or default_storage.exists(value):
                article.hero_image = value or ""
            else:
                skipped.append(_("l’image (fichier supprimé)"))
        else:
            setattr(article, field.attname, value if value is not None else "")
    article.updated_by = user
    article.save()
    for name in CONTENT_FIELDS:
        field = Article._meta.get_field(name)
        if field.many_to_many:
            related = field.related_model.objects.filter(pk__in=_value(data, name) or [])
            getattr(article, name).set(related)
    after_edit(
        article,
        user,
        note=_("Restauration de la version %(version)s") % {"version": revision.version},
    )
    if not skipped:
        return ""
    return _("Version restaurée, sauf : %(items)s.") % {
        "items": format_html_join(", ", "{}", ((item,) for item in skipped))
    }
