from django.urls import path

from . import views

app_name = "newsletter"

urlpatterns = [
    path("", views.subscribe, name="subscribe"),
    path("merci/", views.subscribe_done, name="subscribe-done"),
    path("confirmation/<str:token>/", views.confirm, name="confirm"),
    path("desinscription/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path(
        "desinscription/<str:token>/<slug:newsletter>/",
        views.unsubscribe,
        name="unsubscribe-newsletter",
    ),
    # In every issue: the newsletter by number, which renaming it leaves alone.
    path(
        "desinscription/<str:token>/liste/<int:newsletter_id>/<int:issue>/",
        views.unsubscribe,
        name="unsubscribe-issue",
    ),
    # In issues sent before: the newsletter by its address (slug) of the time.
    path(
        "desinscription/<str:token>/<slug:newsletter>/<int:issue>/",
        views.unsubscribe,
        name="unsubscribe-issue-by-slug",
    ),
    path("preferences/<str:token>/", views.preferences, name="preferences"),
    path("webhooks/<slug:provider>/", views.provider_webhook, name="provider-webhook"),
    path("archives/", views.archive, name="archive"),
    path("archives/<int:pk>/", views.old_archive_detail, name="old-archive-detail"),
    path("archives/<slug:slug>/", views.newsletter_archive, name="newsletter-archive"),
    path("archives/<slug:slug>/<int:pk>/", views.archive_detail, name="archive-detail"),
]
