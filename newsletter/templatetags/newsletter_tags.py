"""The filter the newsletter's admin templates use."""

from zoneinfo import ZoneInfo

from django import template
from django.conf import settings
from django.utils import timezone

register = template.Library()
PARIS = ZoneInfo("Europe/Paris")


@register.filter
def newsroom_and_paris(value):
    """A moment as editors read it: in the newsroom's zone and in Paris
    (« 06/12/2026 14:00 (Almaty) · 06/12/2026 10:00 (Paris) »)."""
    if not value:
        return "—"
    zone = settings.TIME_ZONE.rsplit("/", 1)[-1]
    local = timezone.localtime(value)
    paris = value.astimezone(PARIS)
    return f"{local:%d/%m/%Y %H:%M} ({zone}) · {paris:%d/%m/%Y %H:%M} (Paris)"
