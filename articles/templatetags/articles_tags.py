from datetime import timedelta

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

register = template.Library()
UPDATE_NOTICE_AFTER = timedelta(minutes=15)


def _local(value):
    return timezone.localtime(value) if timezone.is_aware(value) else value


def _day(value):
    # French writes the first day of the month as an ordinal: « 1er mai ».
    return _("1er") if value.day == 1 else str(value.day)


@register.filter
def french_date(value):
    """« 19 avril 2024 »."""
    if not value:
        return ""
    value = _local(value)
    return f"{_day(value)} {date_format(value, 'F Y')}"


@register.filter
def french_datetime(value):
    """« 19 avril 2024 à 16 h 30 »."""
    if not value:
        return ""
    value = _local(value)
    return _("%(date)s à %(hour)s h %(minute)s") % {
        "date": french_date(value),
        "hour": value.hour,
        "minute": f"{value.minute:02d}",
    }


@register.filter
def was_updated(article):
    """Whether to tell readers the article changed after publication (a quick fix
    in the first minutes does not count)."""
    if not article.published_at or not article.updated_at:
        return False
    return article.updated_at - article.published_at > UPDATE_NOTICE_AFTER
