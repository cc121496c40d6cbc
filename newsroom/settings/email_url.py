"""Turn ``EMAIL_URL`` into Django's ``EMAIL_*`` settings.

Accepted forms::

    smtp://user:password@host:25             plain SMTP
    smtp://user:password@host:587?tls=true   SMTP with STARTTLS
    submission://user:password@host          STARTTLS on port 587
    smtps://user:password@host               SMTP over TLS on port 465
    console://                               print messages on the console
    file:///path/to/folder                   write messages as files

User and password are percent-decoded, so ``@`` or ``:`` in a password are written
``%40`` and ``%3A``.
"""

from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}


def parse_email_url(url: str) -> dict:
    parts = urlsplit(url)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    scheme = parts.scheme.lower()
    if scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if scheme == "file":
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": unquote(parts.path),
        }
    if scheme not in {"smtp", "smtps", "submission"}:
        raise ImproperlyConfigured(
            f"EMAIL_URL: unsupported scheme {parts.scheme!r} "
            "(use smtp, smtps, submission, console or file)"
        )
    if not parts.hostname:
        raise ImproperlyConfigured("EMAIL_URL: the SMTP host is missing")
    use_ssl = scheme == "smtps" or query.get("ssl", "").lower() in _TRUE
    use_tls = scheme == "submission" or query.get("tls", "").lower() in _TRUE
    if use_ssl and use_tls:
        raise ImproperlyConfigured("EMAIL_URL: choose either tls or ssl, not both")
    default_port = 465 if use_ssl else 587 if use_tls else 25
    try:
        port = parts.port or default_port
        timeout = int(query["timeout"]) if "timeout" in query else 30
    except ValueError as error:
        raise ImproperlyConfigured(f"EMAIL_URL: {error}") from error
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": use_tls,
        "EMAIL_USE_SSL": use_ssl,
        "EMAIL_TIMEOUT": timeout,
    }
