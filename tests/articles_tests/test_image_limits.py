"""Uploaded images: limits checked before any pixel is decoded, and what is kept
of a file (pixels and colour profile, nothing else)."""

import io
import struct

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image, ImageCms, ImageFile, PngImagePlugin

from articles.models import Article
from articles.uploads import normalize_upload
from tests.articles_tests.test_uploads import stored_files
from tests.factories import admin_article_data, make_author, make_section

pytestmark = pytest.mark.django_db

MARKER = b"<script>alert(document.domain)</script>"


def tiny_frames_on_a_huge_canvas(width=6000, height=6000, frames=20):
    """A GIF of a few hundred bytes: a huge logical screen and many 1x1 images."""
    header = b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0)
    loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    frame = (
        b"\x21\xf9\x04\x00\x01\x00\x00\x00"  # graphic control: 10 ms
        + b"\x2c"
        + struct.pack("<HHHHB", 0, 0, 1, 1, 0x80)  # 1x1 with a 2-colour local table
        + b"\x00\x00\x00\xff\xff\xff"
        + b"\x02\x02\x44\x01\x00"  # LZW code size 2, one block, terminator
    )
    return header + loop + frame * frames + b"\x3b"


def test_a_gif_bomb_by_frame_count_is_refused_before_decoding(monkeypatch):
    """A 6000x6000 canvas with 20 tiny frames is refused from its header: no
    frame is decoded (it took half a minute and a gigabyte before)."""
    data = tiny_frames_on_a_huge_canvas()
    assert len(data) < 1024
    assert Image.open(io.BytesIO(data)).size == (6000, 6000)

    def no_decoding(self):
        raise AssertionError("pixels were decoded before the limits were checked")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(ValidationError) as refused:
        normalize_upload(data)
    assert refused.value.code == "too_many_frames"
    assert "20" in refused.value.messages[0]


def test_a_modest_animation_keeps_its_frames_and_timing():
    """An ordinary animated GIF is accepted, with its frames and durations."""
    frames = [Image.new("RGB", (60, 40), (index * 60, 0, 255 - index * 60)) for index in range(4)]
    buffer = io.BytesIO()
    frames[0].save(
        buffer, "GIF", save_all=True, append_images=frames[1:], duration=[120, 80, 80, 200], loop=0
    )
    stored = Image.open(io.BytesIO(normalize_upload(buffer.getvalue()).read()))
    assert stored.n_frames == 4
    durations = []
    for index in range(stored.n_frames):
        stored.seek(index)
        durations.append(stored.info["duration"])
    assert durations == [120, 80, 80, 200]


def test_the_frame_limit_counts_pixels_of_every_frame(settings):
    """Frames times canvas pixels stay under the pixel limit."""
    settings.IMAGE_UPLOAD_MAX_PIXELS = 100_000
    frames = [Image.new("RGB", (200, 100), (index * 40, 0, 0)) for index in range(6)]  # 6 x 20,000
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    with pytest.raises(ValidationError) as refused:
        normalize_upload(buffer.getvalue())
    assert refused.value.code == "too_many_frames"
    frames = frames[:4]  # 80,000 pixels in all
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    assert Image.open(io.BytesIO(normalize_upload(buffer.getvalue()).read())).n_frames == 4


def _png(width, height):
    buffer = io.BytesIO()
    Image.new("L", (width, height), 200).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_very_tall_image_is_refused_with_a_message_and_nothing_is_stored(admin_client):
    """A 480x83,000 PNG (under the pixel limit, over what JPEG and WebP can hold)
    gets a message next to the field, and no file is stored."""
    before = stored_files()
    data = admin_article_data(
        section=make_section().pk,
        authors=[make_author().pk],
        hero_image=SimpleUploadedFile("infographie.png", _png(480, 83_000), "image/png"),
        hero_image_alt="Une infographie",
    )
    response = admin_client.post(reverse("admin:articles_article_add"), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["hero_image"]
    assert "83000" in errors[0] and "16" in errors[0]
    assert not Article.objects.exists()
    assert stored_files() == before


def test_an_image_at_the_side_limit_is_accepted():
    """16,383 pixels on a side is the most every output format can hold."""
    assert normalize_upload(_png(40, 16_383)).name.endswith(".png")


# Made once: a profile's header holds the time it was made, so two made a second
# apart differ (comparing the stored profile with a new one failed now and then).
SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


EXIF = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x01\x01\x0e\x00\x02\x00\x00\x00\x10\x00\x00\x00\x1aSECRET-EXIF-GPS\x00"  # noqa: E501
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">SECRET-XMP</x:xmpmeta>'


def _with_metadata(image_format):
    image = Image.new("RGB", (64, 48), (10, 120, 200))
    buffer = io.BytesIO()
    if image_format == "PNG":
        text = PngImagePlugin.PngInfo()
        text.add_text("Comment", MARKER.decode())
        text.add_itxt("XML:com.adobe.xmp", XMP.decode())
        image.save(buffer, "PNG", pnginfo=text, exif=EXIF, icc_profile=SRGB_PROFILE)
    elif image_format == "JPEG":
        image.save(buffer, "JPEG", comment=MARKER, exif=EXIF, xmp=XMP, icc_profile=SRGB_PROFILE)
    elif image_format == "WEBP":
        image.save(buffer, "WEBP", exif=EXIF, xmp=XMP, icc_profile=SRGB_PROFILE)
    else:
        image.convert("P").save(buffer, "GIF", comment=MARKER)
    return buffer.getvalue()


SECRETS = (MARKER, b"SECRET-EXIF", b"SECRET-XMP", b"Comment", b"xmpmeta")


@pytest.mark.parametrize(
    ("image_format", "carried"),
    [
        ("GIF", {MARKER}),
        ("PNG", set(SECRETS)),
        ("JPEG", set(SECRETS) - {b"Comment"}),
        ("WEBP", {b"SECRET-EXIF", b"SECRET-XMP", b"xmpmeta"}),
    ],
)
def test_re_encoding_keeps_pixels_and_profile_and_nothing_else(image_format, carried):
    """Comments, text chunks, EXIF and XMP are gone from the stored copy (a
    <script> comment made GIFs polyglots); the colour profile stays."""
    original = _with_metadata(image_format)
    assert {secret for secret in SECRETS if secret in original} == carried
    stored = normalize_upload(original).read()
    assert [secret for secret in SECRETS if secret in stored] == []
    reopened = Image.open(io.BytesIO(stored))
    assert reopened.size == (64, 48)
    assert not {"comment", "exif", "xmp", "XML:com.adobe.xmp", "Comment"} & set(reopened.info)
    if image_format != "GIF":
        assert reopened.info.get("icc_profile") == SRGB_PROFILE


def test_an_animated_gif_loses_the_comments_of_every_frame():
    """Comments may follow any frame of an animation; none is kept."""
    frames = [Image.new("RGB", (30, 20), (0, index * 100, 0)) for index in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], comment=MARKER)
    data = buffer.getvalue().replace(b"\x2c\x00\x00", b"\x21\xfe\x05<b>hi\x00\x2c\x00\x00")
    assert data.count(b"<b>hi") == 3
    stored = normalize_upload(data).read()
    assert MARKER not in stored and b"<b>hi" not in stored
    assert b"\x21\xfe" not in stored  # no comment extension at all
