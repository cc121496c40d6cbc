from django.conf import settings

from newsroom.pagecache import content_clock


def _content_version():
    # Called only where a template resolves it: the fragments keyed by it.
    return content_clock().value


def site(request):
    """The site's name, and the content clock's value for the template fragments
    cached while content is unchanged (``{% cache … content_version %}``)."""
    return {"site_name": settings.SITE_NAME, "content_version": _content_version}
