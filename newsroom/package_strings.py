"""Strings that installed packages mark for translation but ship no French for
(django-tasks and django-tasks-db, whose task list superusers read in the admin).

The site never imports this module: it is here so that ``make messages`` puts
these message ids in locale/fr/LC_MESSAGES/django.po, where they are translated
(a test checks that each one is)."""

from django.utils.translation import gettext_noop, pgettext_lazy

TASK_RESULT = [
    gettext_noop("status"),
    gettext_noop("enqueued at"),
    gettext_noop("started at"),
    gettext_noop("finished at"),
    gettext_noop("args kwargs"),
    gettext_noop("priority"),
    gettext_noop("task path"),
    gettext_noop("worker id"),
    gettext_noop("queue name"),
    gettext_noop("backend name"),
    gettext_noop("run after"),
    gettext_noop("return value"),
    gettext_noop("exception class path"),
    gettext_noop("traceback"),
]

TASK_STATUS = [
    pgettext_lazy("Task", "Ready"),
    pgettext_lazy("Task", "Running"),
    pgettext_lazy("Task", "Failed"),
    pgettext_lazy("Task", "Successful"),
]
