"""What every admin list of the project shares."""

from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.utils.translation import gettext as _


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
