"""Background tasks of the newsroom, run by the worker (``manage.py worker``)
like the newsletter's."""

from django_tasks import task

from .emails import sent_back_message
from .models import ArticleNote


@task()
def mail_sent_back_note_task(note_id):
    """Mail the note with which an editor sent an article back to the article's
    owners (``ArticleNote.recipients``). Returns the addresses mailed."""
    note = ArticleNote.objects.select_related("article", "created_by").filter(pk=note_id).first()
    if note is None:
        return []
    recipients = list(note.recipients())
    if not recipients:
        return []
    sent_back_message(note, recipients).send()
    return [user.email for user in recipients]
