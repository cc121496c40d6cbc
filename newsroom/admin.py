"""What every admin list of the project shares, and the task queue's admin in
French."""

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

from .models import TaskResult


class CheckedFiltersMixin:
    """A filter value Django cannot turn into a query (a month 13, or a year such
    as 9999, whose end falls past year 9999) shows the list unfiltered with a
    message, not a 500 nor a silent reset."""

    def get_changelist_instance(self, request):
        try:
            return super().get_changelist_instance(request)
        except (IncorrectLookupParameters, ValueError, OverflowError) as error:
            messages.error(
                request,
                _(
                    "Ce filtre n’est pas valide (date hors limites ?) : la liste est affichée "
                    "sans filtre."
                ),
            )
            if isinstance(error, IncorrectLookupParameters):
                raise
            raise IncorrectLookupParameters(error) from error


class TaskResultAdmin(DBTaskResultAdmin):
    """django-tasks-db's read-only list of tasks, on a proxy with French names and
    titles, and French labels where the package types English ones that are not
    marked for translation (its model fields are marked: the catalogue translates
    them)."""

    @admin.display(description=gettext_lazy("tâche"))
    def task_name(self, obj):
        return obj.task_name

    @admin.display(description=gettext_lazy("trace de l’erreur"))
    def formatted_traceback(self, obj):
        return super().formatted_traceback(obj)

    @admin.display(description=gettext_lazy("à lancer après"))
    def display_run_after(self, obj):
        return super().display_run_after(obj)


admin.site.unregister(DBTaskResult)
admin.site.register(TaskResult, TaskResultAdmin)
