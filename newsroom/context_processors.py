from django.conf import settings

from articles.models import Section


def site(request):
    """Site name and the navigation, on every page."""
    return {
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        # A callable: only pages that show the menu look it up.
        "navigation_sections": Section.objects.navigation,
    }
