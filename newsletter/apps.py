from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NewsletterConfig(AppConfig):
    name = "newsletter"
    verbose_name = _("Newsletter")

    def ready(self):
        # Connects the receivers: the one that queues a sender when an issue
        # wants one, and the one that records the providers' webhook events.
        from . import bounces, tasks  # noqa: F401
