"""Media on object storage: with MEDIA_STORAGE_URL (or AWS_*), uploads and
their resized copies go to an S3-compatible bucket, here a real S3 API served
by moto's server, and pages, feeds and emails link to the bucket."""

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3
import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from articles.models import Article
from articles.sanitizer import sanitize_html
from newsroom.settings.media_storage import media_storage, public_read_policy
from tests.conftest import free_port, wait_for_http
from tests.factories import (
    admin_article_data,
    image_upload,
    make_article,
    make_author,
    make_section,
    make_user,
)

BUCKET = "newsroom-media"
KEYS = {"AWS_ACCESS_KEY_ID": "test-key", "AWS_SECRET_ACCESS_KEY": "test-secret"}


@pytest.fixture(scope="module")
def s3_endpoint():
    """moto's S3 server on loopback, with an empty bucket."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{endpoint}/moto-api/", server)
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **_keys())
        client.create_bucket(Bucket=BUCKET)
        # What the README asks of the operator: anyone may read the objects.
        client.put_bucket_policy(Bucket=BUCKET, Policy=public_read_policy(BUCKET))
        yield endpoint
    finally:
        server.terminate()
        server.wait(10)


def _keys():
    return {"aws_access_key_id": KEYS["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": "x"}


@pytest.fixture
def bucket_media(s3_endpoint, settings, monkeypatch):
    """The site's media in the bucket, under a prefix, as production would be set."""
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    bucket = media_storage(
        {"MEDIA_STORAGE_URL": f"s3://{BUCKET}/site?endpoint={s3_endpoint}&region=us-east-1"}
    )
    settings.STORAGES = {**settings.STORAGES, "default": bucket["STORAGE"]}
    settings.MEDIA_URL = bucket["MEDIA_URL"]
    settings.MEDIA_ORIGIN = s3_endpoint
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **_keys())
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])


def _keys_in(client):
    return {item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


@pytest.mark.django_db
def test_an_article_image_uploaded_in_the_admin_lands_in_the_bucket(bucket_media, s3_endpoint):
    """The hero image and its resized copies are objects in the bucket; the
    page links to them at the bucket's address, and each one loads from there,
    with a year-long immutable Cache-Control."""
    editor = Client()
    editor.force_login(make_user(superuser=True))
    data = admin_article_data(
        section=make_section().pk,
        authors=[make_author().pk],
        title="Barrage de Rogoun",
        slug="barrage-de-rogoun",
        status=Article.Status.PUBLISHED,
        hero_image=image_upload(width=1300, height=800),
        hero_image_alt="Le chantier du barrage",
    )
    response = editor.post(reverse("admin:articles_article_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    article = Article.objects.get(slug="barrage-de-rogoun")

    keys = _keys_in(bucket_media)
    assert f"site/{article.hero_image.name}" in keys
    copies = {key for key in keys if key.startswith("site/renditions/")}
    # Cards 480 and 800, lead 800, 1200 and 1300 (the image's width), in JPEG
    # and WebP; the social image in JPEG.
    assert len(copies) == 2 * 2 + 2 * 3 + 1
    assert {key.rsplit(".", 1)[1] for key in copies} == {"jpg", "webp"}
    assert not Path(django_settings.MEDIA_ROOT, article.hero_image.name).exists()

    page = Client().get(article.get_absolute_url()).content.decode()
    base = f"{s3_endpoint}/{BUCKET}/site/"
    linked = {key for key in keys if f"{base}{key.removeprefix('site/')}" in page}
    assert linked and linked <= copies
    with urllib.request.urlopen(f"{s3_endpoint}/{BUCKET}/{sorted(linked)[0]}") as image:
        assert image.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert image.read(3) in (b"\xff\xd8\xff", b"RIF")


@pytest.mark.django_db
def test_feeds_and_social_images_link_to_the_bucket_absolutely(bucket_media, s3_endpoint):
    article = make_article(title="Steppe", hero_image=image_upload(width=900, height=600))
    base = f"{s3_endpoint}/{BUCKET}/site/renditions/"
    feed = Client().get(reverse("articles:feed")).content.decode()
    assert re.search(rf'<enclosure [^>]*url="{re.escape(base)}[^"]+-900\.jpg"', feed)
    page = Client().get(article.get_absolute_url()).content.decode()
    assert f'property="og:image" content="{base}' in page
    assert "http://testserver" + s3_endpoint not in page + feed


@pytest.mark.django_db
def test_an_editor_upload_goes_to_the_bucket_and_survives_the_sanitizer(bucket_media):
    """CKEditor's upload answers the bucket address, and a body that shows it
    keeps the image; an address that only starts like the bucket does not."""
    writer = Client()
    writer.force_login(make_user(perms=["articles.add_article", "articles.change_article"]))
    answer = writer.post(
        reverse("articles:editor-image-upload"), {"upload": image_upload("vue.png")}
    ).json()
    assert answer["uploaded"] == 1
    assert answer["url"].startswith(django_settings.MEDIA_URL + "editor/")
    assert default_storage.exists(answer["url"].removeprefix(django_settings.MEDIA_URL))
    kept = sanitize_html(f'<p><img src="{answer["url"]}" alt="Vue"></p>')
    assert f'src="{answer["url"]}"' in kept
    for foreign in (
        f"{django_settings.MEDIA_URL}/evil.example/x.png",
        f"http://evil.example/{BUCKET}/site/x.png",
        "/media/editor/x.png",
    ):
        assert "src=" not in sanitize_html(f'<img src="{foreign}">'), foreign


def _settings_with(**env):
    script = (
        "import json, django; from django.conf import settings; django.setup();"
        "print(json.dumps({'url': settings.MEDIA_URL, 'serve': settings.SERVE_MEDIA,"
        " 'img': settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src'],"
        " 'backend': settings.STORAGES['default']['BACKEND']}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "newsroom.settings.test", **env},
        capture_output=True,
        text=True,
        cwd=django_settings.BASE_DIR,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_bucket_settings_reach_media_url_and_the_content_security_policy():
    """The pages' CSP lets images load from the bucket's host (and no other);
    Django stops serving media itself. The AWS_* variables work as well."""
    seen = _settings_with(
        MEDIA_STORAGE_URL="s3://photos/prod?region=eu-west-3&public_url=https://media.exemple.org"
    )
    assert seen == {
        "url": "https://media.exemple.org/prod/",
        "serve": False,
        "img": ["'self'", "https://media.exemple.org"],
        "backend": "storages.backends.s3.S3Storage",
    }
    aws = _settings_with(AWS_STORAGE_BUCKET_NAME="photos", AWS_S3_REGION_NAME="eu-west-3")
    assert aws["url"] == "https://photos.s3.eu-west-3.amazonaws.com/"
    local = _settings_with()
    assert (local["url"], local["serve"], local["img"]) == ("/media/", True, ["'self'"])
    assert local["backend"] == "django.core.files.storage.FileSystemStorage"


@pytest.mark.parametrize(
    "url, message",
    [
        ("https://photos", "s3://bucket"),
        ("s3://", "s3://bucket"),
        ("s3://photos?regoin=eu-west-3", "unknown parameter(s) regoin"),
        ("s3://photos", "needs a region"),
        ("s3://photos?public_url=media.exemple.org", "not a URL"),
    ],
)
def test_a_wrong_bucket_address_stops_the_start_with_a_message(url, message):
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        media_storage({"MEDIA_STORAGE_URL": url})
