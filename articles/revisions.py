"""Article history: what changed between two revisions, and restoring one."""

import difflib
import re

from django.core.files.storage import default_storage
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from .models import Article, Author, Section, Tag
from .sanitizer import html_to_text

# Fields restored from a revision: the content. Status and publication date are
# left as they are, so restoring never publishes or unpublishes by surprise.
CONTENT_FIELDS = [
    "title",
    "slug",
    "standfirst",
    "body",
    "hero_image",
    "hero_image_alt",
    "hero_image_caption",
    "hero_image_credit",
    "section",
    "authors",
    "tags",
]
# What an editor edits in the article form: the content, and where and when
# it is shown.
EDITABLE_FIELDS = [*CONTENT_FIELDS, "is_featured", "status", "published_at"]
TEXT_FIELDS = {"standfirst", "body"}
_WORDS = re.compile(r"\S+\s*")


def field_label(name):
    return Article._meta.get_field(name).verbose_name


def _display(name, value, names):
    if name == "section":
        return names["sections"].get(value, _("rubrique supprimée"))
    if name in ("authors", "tags"):
        return ", ".join(names[name].get(pk, "?") for pk in value or []) or "—"
    if name == "is_featured":
        return _("oui") if value else _("non")
    if name == "status":
        return Article.Status(value).label if value in Article.Status.values else value
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
        old, new = (before or {}).get(name), after.get(name)
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
    author_ids = {pk for s in snapshots if s for pk in s.get("authors") or []}
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


def restore_revision(article, revision, user):
    """Put the revision's content back into the article and record it as a new
    revision. Returns a warning for what could not be restored, or ""."""
    data = revision.data
    skipped = []
    for name in (
        "title",
        "standfirst",
        "body",
        "hero_image_alt",
        "hero_image_caption",
        "hero_image_credit",
    ):
        setattr(article, name, data.get(name, ""))
    slug = data.get("slug")
    if slug and not Article.objects.filter(slug=slug).exclude(pk=article.pk).exists():
        article.slug = slug
    elif slug != article.slug:
        skipped.append(_("l’adresse (un autre article l’utilise)"))
    if Section.objects.filter(pk=data.get("section")).exists():
        article.section_id = data["section"]
    else:
        skipped.append(_("la rubrique (supprimée depuis)"))
    image = data.get("hero_image") or ""
    if not image or default_storage.exists(image):
        article.hero_image = image
    else:
        skipped.append(_("l’image (fichier supprimé)"))
    article.updated_by = user
    article.save()
    article.authors.set(Author.objects.filter(pk__in=data.get("authors") or []))
    article.tags.set(Tag.objects.filter(pk__in=data.get("tags") or []))
    article.record_revision(
        user, note=_("Restauration de la version %(version)s") % {"version": revision.version}
    )
    if not skipped:
        return ""
    return _("Version restaurée, sauf : %(items)s.") % {
        "items": format_html_join(", ", "{}", ((item,) for item in skipped))
    }
