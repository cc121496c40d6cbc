from django.conf import settings


def site(request):
    """The site's name, for the Django templates (the admin, the sitemaps)."""
    return {"site_name": settings.SITE_NAME}
