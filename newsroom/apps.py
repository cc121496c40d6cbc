from django.apps import AppConfig
from django.contrib.staticfiles.apps import StaticFilesConfig
from django.utils.translation import gettext_lazy as _


class NewsroomConfig(AppConfig):
    name = "newsroom"
    verbose_name = _("Rédaction")


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
