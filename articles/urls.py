from django.urls import path

from . import views

app_name = "articles"

urlpatterns = [
    path("", views.home, name="home"),
    path("rubrique/<slug:slug>/", views.section_detail, name="section-detail"),
    path("article/<slug:slug>/", views.article_detail, name="article-detail"),
    path("apercu/<str:token>/", views.shared_preview, name="shared-preview"),
    path("redaction/images/", views.editor_image_upload, name="editor-image-upload"),
]
