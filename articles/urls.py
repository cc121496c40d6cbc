from django.urls import path

from . import feeds, views

app_name = "articles"

urlpatterns = [
    path("", views.home, name="home"),
    path("rubrique/<slug:slug>/", views.section_detail, name="section-detail"),
    path("rubrique/<slug:slug>/flux/", feeds.SectionFeed(), name="section-feed"),
    path("auteur/<slug:slug>/", views.author_detail, name="author-detail"),
    path("sujet/<slug:slug>/", views.tag_detail, name="tag-detail"),
    path("article/<slug:slug>/", views.article_detail, name="article-detail"),
    path("recherche/", views.search, name="search"),
    path("feed/", feeds.LatestArticlesFeed(), name="feed"),
    path("apercu/<str:token>/", views.shared_preview, name="shared-preview"),
    path("lu/<int:pk>/", views.record_read, name="record-read"),
    path("redaction/images/", views.editor_image_upload, name="editor-image-upload"),
]
