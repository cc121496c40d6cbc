"""What a page's rendering reads dozens of times and that cannot change while it
renders: the script prefix, the URLconf and the time zone. Django keeps each in
a thread- and task-local (asgiref's Local), a few microseconds a read, and a
listing page reads them about two hundred times (every address of every card,
every date). A rendering reads them once (newsroom.jinja's Template.render);
outside a rendering they are read as usual."""

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf
from django.utils import timezone

_current = ContextVar("newsroom_rendering", default=None)


def _read():
    return (
        get_script_prefix(),
        get_urlconf() or settings.ROOT_URLCONF,
        timezone.get_current_timezone(),
    )


@contextmanager
def one_rendering():
    """Reads the three once for what runs inside (nested renderings keep the
    outer reading: they are the same page)."""
    if _current.get() is not None:
        yield
        return
    token = _current.set(_read())
    try:
        yield
    finally:
        _current.reset(token)


def prefix_and_urlconf():
    """The script prefix and the URLconf reverse() would use now."""
    reading = _current.get() or _read()
    return reading[0], reading[1]


def local_time(value):
    """``value`` in the current time zone (as timezone.localtime)."""
    reading = _current.get()
    zone = reading[2] if reading is not None else timezone.get_current_timezone()
    return value.astimezone(zone)
