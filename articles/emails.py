"""Emails to the newsroom's staff about their articles. They are rendered and
built by the newsletter's two functions (``render_email``, ``build_message``);
their templates are triplets under ``templates/articles/emails/``."""

from django.urls import reverse
from django.utils.translation import gettext as _

from newsletter.emails import build_message, render_email
from newsroom.links import absolute_url


def _name_of(user):
    if user is None:
        return _("la rédaction")
    return user.get_full_name() or user.get_username()


def sent_back_message(note, recipients):
    """Tells ``recipients`` (accounts) that an editor sent their article back to
    draft with ``note``; a reply goes to the editor."""
    article, editor = note.article, note.created_by
    subject, text, html = render_email(
        "sent_back",
        {
            "article": article,
            "note": note,
            "editor_name": _name_of(editor),
            "change_url": absolute_url(
                reverse("admin:articles_article_change", args=[article.pk])
            ),
        },
        folder="articles/emails",
    )
    headers = {"Reply-To": editor.email} if editor is not None and editor.email else {}
    return build_message(subject, text, html, [user.email for user in recipients], headers=headers)
