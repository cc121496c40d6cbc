"""Production: refuses to start without a secret key and allowed hosts."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import ALLOWED_HOSTS, DATABASES, SECRET_KEY, SITE_URL, env_bool

if not DATABASES:
    # Never a private embedded server in production: the data would live on one
    # machine's disk, outside backups.
    raise ImproperlyConfigured(
        "Set DATABASE_URL to the production PostgreSQL, e.g. "
        "postgres://newsroom:password@db.internal:5432/newsroom"
    )

# The bar of Django's own deployment check (security.W009): signatures of every
# link and form rest on this key.
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-"):
    raise ImproperlyConfigured(
        "Set DJANGO_SECRET_KEY to a long random value (50 characters or more), for example "
        "the output of: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "Set DJANGO_ALLOWED_HOSTS to the site's host names, separated by commas."
    )

# HTTPS hardening follows SITE_URL, so a plain-HTTP staging or benchmark run works.
_HTTPS = SITE_URL.startswith("https://")
SESSION_COOKIE_SECURE = _HTTPS
CSRF_COOKIE_SECURE = _HTTPS
SECURE_SSL_REDIRECT = _HTTPS and env_bool("DJANGO_SSL_REDIRECT", True)
# A year, with subdomains and the preload flag (what hstspreload.org asks);
# a site with plain-HTTP subdomains turns these two off.
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365 if _HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = _HTTPS and env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = _HTTPS and env_bool("DJANGO_HSTS_PRELOAD", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if _HTTPS else None
