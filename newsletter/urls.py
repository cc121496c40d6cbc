from django.urls import path

from . import views

app_name = "newsletter"

urlpatterns = [
    path("", views.subscribe, name="subscribe"),
    path("merci/", views.subscribe_done, name="subscribe-done"),
    path("confirmation/<str:token>/", views.confirm, name="confirm"),
    path("desinscription/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("archives/", views.archive, name="archive"),
    path("archives/<int:pk>/", views.archive_detail, name="archive-detail"),
]
