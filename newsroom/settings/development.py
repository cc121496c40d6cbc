"""Development: a secret key kept under var/, local hosts allowed, static files
served from the source folders."""

import secrets

from newsroom import embedded_database

from .base import *  # noqa: F403
from .base import (
    _CONNECTION_OPTIONS,
    DATABASES,
    EMBEDDED_DATABASE_DIR,
    EMBEDDED_DATABASE_NAME,
    VAR_DIR,
    env_list,
)


def _development_secret_key() -> str:
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


if not DATABASES:
    # The embedded server, started by the first connection (not by this import).
    # SIGTERM exits through the exit handlers, so that the server's last user
    # stops it (the first connection may come from a thread, which cannot).
    embedded_database.stop_on_sigterm()
    DATABASES = {
        "default": {
            "ENGINE": "newsroom.embedded_database",
            "NAME": EMBEDDED_DATABASE_NAME,
            "EMBEDDED_NAME": EMBEDDED_DATABASE_NAME,
            "EMBEDDED_DATA_DIR": str(EMBEDDED_DATABASE_DIR),
            "CONN_MAX_AGE": _CONNECTION_OPTIONS["conn_max_age"],
            "CONN_HEALTH_CHECKS": _CONNECTION_OPTIONS["conn_health_checks"],
        }
    }

SECRET_KEY = SECRET_KEY or _development_secret_key()  # noqa: F405
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# WhiteNoise serves STATIC_ROOT before the source folders: production's
# collected copies (var/static, made by make bench or make cluster-check) would
# hide every later change to a stylesheet or script. Development never collects.
STATIC_ROOT = VAR_DIR / "static-development"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
