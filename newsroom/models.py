"""What the site records about itself."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tasks_db.models import DBTaskResult


class WorkerHeartbeat(models.Model):
    """A running task worker says it is alive (see ``manage.py worker``); the
    health page reads the freshest one."""

    name = models.CharField(_("travailleur"), max_length=200, unique=True)
    seen_at = models.DateTimeField(_("vu le"), db_index=True)

    class Meta:
        verbose_name = _("signal de vie d’un travailleur")
        verbose_name_plural = _("signaux de vie des travailleurs")

    def __str__(self):
        return self.name


class TaskResult(DBTaskResult):
    """The task queue's record of a job, as superusers read it in the admin: the
    package's own model has no French name and no readable title."""

    class Meta:
        proxy = True
        verbose_name = _("tâche de fond")
        verbose_name_plural = _("tâches de fond")

    def __str__(self):
        # The path, not ``task_name``: that one imports the task, which may be gone.
        return _("%(task)s, mise en file le %(date)s") % {
            "task": self.task_path.rsplit(".", 1)[-1],
            "date": f"{timezone.localtime(self.enqueued_at):%d/%m/%Y %H:%M}",
        }
