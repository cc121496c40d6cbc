import io
import re

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image
from pytest_django.asserts import assertRedirects

from tests.factories import image_bytes, make_user

pytestmark = pytest.mark.django_db
URL = reverse("articles:editor-image-upload")


def stored_files():
    folders, files = default_storage.listdir("")
    found = set(files)
    stack = list(folders)
    while stack:
        folder = stack.pop()
        sub_folders, sub_files = default_storage.listdir(folder)
        found |= {f"{folder}/{name}" for name in sub_files}
        stack += [f"{folder}/{name}" for name in sub_folders]
    return found


def noisy_jpeg():
    buffer = io.BytesIO()
    Image.effect_noise((200, 200), 60).convert("RGB").save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def writer_client():
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user(perms=["articles.add_article", "articles.change_article"]))
    client.get(reverse("admin:index"))  # sets the CSRF cookie
    return client


def post_upload(client, upload):
    token = client.cookies["csrftoken"].value
    return client.post(URL, {"upload": upload}, HTTP_X_CSRFTOKEN=token)


def test_editor_upload_stores_a_reencoded_image_named_after_its_format(writer_client):
    """A PNG sent as « .html » is stored re-encoded, with the .png extension."""
    upload = SimpleUploadedFile("page.html", image_bytes(50, 40, "PNG"), "text/html")
    response = post_upload(writer_client, upload)

    data = response.json()
    assert data["uploaded"] == 1
    assert data["url"].startswith("/media/editor/") and data["url"].endswith(".png")
    stored = data["url"].removeprefix("/media/")
    with default_storage.open(stored) as stored_file:
        assert Image.open(stored_file).format == "PNG"


def test_editor_upload_strips_metadata(writer_client):
    """EXIF metadata (which may hold a source's location) is removed."""
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "Appareil du photographe"
    Image.new("RGB", (30, 30), "red").save(buffer, "JPEG", exif=exif.tobytes())
    response = post_upload(writer_client, SimpleUploadedFile("a.jpg", buffer.getvalue()))
    stored = response.json()["url"].removeprefix("/media/")
    with default_storage.open(stored) as stored_file:
        assert not Image.open(stored_file).getexif()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<html><script>alert(1)</script></html>", "n’est pas une image lisible"),
        (b"GIF89a" + b"\x00" * 20, "n’est pas une image lisible"),
        (noisy_jpeg()[:3000], "endommagée"),
        (b"", "vide"),
    ],
)
def test_editor_upload_refuses_what_is_not_a_whole_image(writer_client, content, message):
    """Non-images, truncated and empty files are refused with a message; nothing is stored."""
    before = stored_files()
    response = post_upload(writer_client, SimpleUploadedFile("x.jpg", content))
    data = response.json()
    assert data["uploaded"] == 0
    assert message in data["error"]["message"]
    assert stored_files() == before


def test_editor_upload_refuses_decompression_bombs(writer_client, settings):
    """An image whose pixel count exceeds the limit is refused before it is decoded."""
    settings.IMAGE_UPLOAD_MAX_PIXELS = 1_000_000
    buffer = io.BytesIO()
    Image.new("1", (5000, 5000)).save(buffer, "PNG")  # small file, 25 million pixels
    response = post_upload(writer_client, SimpleUploadedFile("bomb.png", buffer.getvalue()))
    data = response.json()
    assert data["uploaded"] == 0
    assert "trop grande" in data["error"]["message"]


def test_editor_upload_refuses_files_over_the_byte_limit(writer_client, settings):
    """A file heavier than the limit is refused with its size and the limit."""
    settings.IMAGE_UPLOAD_MAX_BYTES = 1024 * 1024
    big = SimpleUploadedFile("big.jpg", b"\xff" * (1024 * 1024 + 10))
    data = post_upload(writer_client, big).json()
    assert data["uploaded"] == 0
    assert "limite est de 1 Mo" in data["error"]["message"]


def test_editor_upload_refuses_unsupported_formats(writer_client):
    """Real images in formats we do not publish (BMP, TIFF) are refused."""
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, "BMP")
    data = post_upload(writer_client, SimpleUploadedFile("a.bmp", buffer.getvalue())).json()
    assert data["uploaded"] == 0
    assert "BMP" in data["error"]["message"]


def test_editor_upload_without_file_gives_a_message(writer_client):
    """A request with no file gets a message, not an error page."""
    token = writer_client.cookies["csrftoken"].value
    data = writer_client.post(URL, {}, HTTP_X_CSRFTOKEN=token).json()
    assert data["uploaded"] == 0


def test_editor_upload_enforces_csrf(writer_client):
    """Without the CSRF token the upload is refused and nothing is stored."""
    before = stored_files()
    response = writer_client.post(URL, {"upload": SimpleUploadedFile("a.jpg", image_bytes())})
    assert response.status_code == 403
    assert stored_files() == before


def test_editor_upload_is_for_staff_who_write_articles(client):
    """Anonymous visitors are sent to the admin's login page (the only one there is,
    and it answers); staff without article rights get 403."""
    upload = SimpleUploadedFile("a.jpg", image_bytes())
    response = client.post(URL, {"upload": upload})
    assertRedirects(response, f"{reverse('admin:login')}?next={URL}")
    client.force_login(make_user(perms=["newsletter.view_subscriber"]))
    upload.seek(0)
    assert client.post(URL, {"upload": upload}).status_code == 403
    client.force_login(make_user(staff=False, perms=["articles.add_article"]))
    upload.seek(0)
    assert client.post(URL, {"upload": upload}).status_code == 403


def test_editor_upload_refuses_get(writer_client):
    """The upload address only accepts POST."""
    assert writer_client.get(URL).status_code == 405


@pytest.mark.parametrize(
    ("image_format", "extension"), [("PNG", "png"), ("WEBP", "webp"), ("GIF", "gif")]
)
def test_hero_image_accepts_png_webp_and_gif(admin_client, image_format, extension):
    """The hero image field takes PNG, WebP and GIF, stored under their real extension."""
    from articles.models import Article
    from tests.factories import admin_article_data, make_author, make_section

    upload = SimpleUploadedFile("image.bin", image_bytes(64, 48, image_format))
    data = admin_article_data(
        section=make_section().pk, authors=[make_author().pk], hero_image=upload
    )
    response = admin_client.post(reverse("admin:articles_article_add"), data)
    assert response.status_code == 302
    assert re.fullmatch(
        rf"articles/.+/[0-9a-f]{{32}}\.{extension}", Article.objects.get().hero_image.name
    )


def test_hero_image_refuses_decompression_bombs(admin_client, settings):
    """A hero image over the pixel limit is refused with a message; nothing is saved."""
    from articles.models import Article
    from tests.factories import admin_article_data, make_author, make_section

    settings.IMAGE_UPLOAD_MAX_PIXELS = 1_000_000
    buffer = io.BytesIO()
    Image.new("1", (4000, 4000)).save(buffer, "PNG")
    data = admin_article_data(
        section=make_section().pk,
        authors=[make_author().pk],
        hero_image=SimpleUploadedFile("bomb.png", buffer.getvalue()),
    )
    before = stored_files()
    response = admin_client.post(reverse("admin:articles_article_add"), data)
    assert response.status_code == 200
    assert "L’image est trop grande" in response.content.decode()
    assert not Article.objects.exists()
    assert stored_files() == before


def test_editor_toolbar_is_limited_to_what_journalists_need(settings):
    """No raw HTML source editing, no styles or colours; captioned images and
    cleaned pasting are on."""
    config = settings.CKEDITOR_CONFIGS["default"]
    buttons = {button for group in config["toolbar_Newsroom"] for button in group}
    assert "Source" not in buttons and "TextColor" not in buttons and "Styles" not in buttons
    assert {"Bold", "Italic", "Link", "NumberedList", "BulletedList", "Blockquote", "Image"} <= (
        buttons
    )
    assert config["format_tags"] == "p;h2;h3"
    assert "sourcearea" in config["removePlugins"]
    assert "image2" in config["extraPlugins"]
    assert config["pasteFromWordRemoveFontStyles"] is True
