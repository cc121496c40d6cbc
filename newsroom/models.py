"""What the site records about itself."""

from django.db import models
from django.utils.translation import gettext_lazy as _


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
