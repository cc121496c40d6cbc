"""Where uploads and their resized copies are kept: local files, or an
S3-compatible bucket (AWS S3, Scaleway, OVH, MinIO, Garage…) through
django-storages.

The bucket is named by ``MEDIA_STORAGE_URL``::

    s3://bucket                                   AWS, region from AWS_S3_REGION_NAME
    s3://bucket/prefix?region=eu-west-3           objects under prefix/
    s3://bucket?endpoint=https://s3.fr-par.scw.cloud&region=fr-par
    s3://bucket?public_url=https://media.example.org   a CDN in front of the bucket

or by the usual variables, ``AWS_STORAGE_BUCKET_NAME``, ``AWS_S3_ENDPOINT_URL``,
``AWS_S3_REGION_NAME``, ``AWS_S3_CUSTOM_DOMAIN`` and ``AWS_LOCATION``. The keys
are boto3's own ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY``.

Media are public (readers' browsers load them directly from the bucket or its
CDN, so the bucket must allow anonymous reads of its objects) and never
overwritten: stored names are random, so objects are sent with a year-long,
immutable ``Cache-Control``. ``MEDIA_URL`` becomes the bucket's public
address, which the pages, the emails and the Content-Security-Policy use.
"""

from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import ImproperlyConfigured

_KNOWN = {"endpoint", "region", "public_url"}


def media_storage(environ) -> dict:
    """``{}`` for local files, or the settings of an S3 bucket: ``STORAGE``
    (the default storage entry of ``STORAGES``) and ``MEDIA_URL``."""
    url = environ.get("MEDIA_STORAGE_URL", "")
    if url:
        parts = urlsplit(url)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        if parts.scheme != "s3" or not parts.hostname:
            raise ImproperlyConfigured(
                "MEDIA_STORAGE_URL must look like s3://bucket/prefix?endpoint=https://…"
            )
        unknown = set(query) - _KNOWN
        if unknown:
            raise ImproperlyConfigured(
                f"MEDIA_STORAGE_URL: unknown parameter(s) {', '.join(sorted(unknown))} "
                f"(known: {', '.join(sorted(_KNOWN))})"
            )
        bucket = parts.netloc
        location = parts.path.strip("/")
        endpoint = query.get("endpoint", "")
        region = query.get("region", environ.get("AWS_S3_REGION_NAME", ""))
        public_url = query.get("public_url", "")
    elif environ.get("AWS_STORAGE_BUCKET_NAME"):
        bucket = environ["AWS_STORAGE_BUCKET_NAME"]
        location = environ.get("AWS_LOCATION", "").strip("/")
        endpoint = environ.get("AWS_S3_ENDPOINT_URL", "")
        region = environ.get("AWS_S3_REGION_NAME", "")
        domain = environ.get("AWS_S3_CUSTOM_DOMAIN", "")
        public_url = f"https://{domain}" if domain and "://" not in domain else domain
    else:
        return {}

    if public_url:
        base = public_url.rstrip("/")
    elif endpoint:
        base = f"{endpoint.rstrip('/')}/{bucket}"  # path-style addressing
    elif region:
        base = f"https://{bucket}.s3.{region}.amazonaws.com"
    else:
        raise ImproperlyConfigured(
            "The media bucket needs a region (region=… or AWS_S3_REGION_NAME) or an "
            "endpoint (endpoint=… or AWS_S3_ENDPOINT_URL)."
        )
    base_parts = urlsplit(base)
    if base_parts.scheme not in {"http", "https"} or not base_parts.netloc:
        raise ImproperlyConfigured(f"The media bucket's public address is not a URL: {base}")
    options = {
        "bucket_name": bucket,
        "location": location,
        "endpoint_url": endpoint or None,
        "region_name": region or None,
        # URLs are built from MEDIA_URL, without asking boto3 to sign them.
        "custom_domain": base_parts.netloc + base_parts.path,
        "url_protocol": f"{base_parts.scheme}:",
        "querystring_auth": False,
        "file_overwrite": False,
        "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
    }
    return {
        "STORAGE": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options},
        "MEDIA_URL": f"{base}/{location + '/' if location else ''}",
    }


def public_read_policy(bucket: str) -> str:
    """The bucket policy the README asks for: anyone may read the objects (pages
    link to them directly), nobody else may list or write."""
    import json

    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})
