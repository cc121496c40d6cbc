from django.conf import settings


def site(request):
    """The site's name and address, on every page."""
    return {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL}
