"""A URL configuration with a view that fails, for the error-reporting tests."""

import logging

from django.urls import include, path


def failing(request):
    raise RuntimeError("boom\nsecond line")


def logging_view(request):
    from django.http import HttpResponse

    logging.getLogger("newsroom.test").warning("first line\nsecond line")
    return HttpResponse("ok")


urlpatterns = [
    path("echec/", failing),
    path("journal/", logging_view),
    path("", include("newsroom.urls")),
]
