from django.apps import AppConfig
from django.contrib.staticfiles.apps import StaticFilesConfig


class NewsroomConfig(AppConfig):
    name = "newsroom"
    verbose_name = "Newsroom"


class NewsroomStaticFilesConfig(StaticFilesConfig):
    """collectstatic (and WhiteNoise in development) leaves out what CKEditor
    ships for its developers: HTML sample and test pages (an old editor's demo
    pages are a favourite target), build files and notes."""

    ignore_patterns = [
        *StaticFilesConfig.ignore_patterns,
        "ckeditor/ckeditor/*.html",
        "samples",
        "tests",
        "*.md",
        "bender-runner.config.json",
        "build-config.js",
    ]
