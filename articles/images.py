"""Uploaded images: only real images that Pillow can read, within limits on bytes
and pixels, re-encoded without their metadata and named after their real format."""

import io
import logging
import uuid
import warnings

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

logger = logging.getLogger(__name__)

# Pillow format name -> (extension, content type)
ACCEPTED_FORMATS = {
    "JPEG": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
    "WEBP": ("webp", "image/webp"),
    "GIF": ("gif", "image/gif"),
}


def check_size(size: int) -> None:
    """Refuse a file over the byte limit before anything reads it."""
    if size > settings.IMAGE_UPLOAD_MAX_BYTES:
        raise ValidationError(
            _("Le fichier pèse %(size)s Mo ; la limite est de %(limit)s Mo.")
            % {
                "size": f"{size / 1_048_576:.1f}".replace(".", ","),
                "limit": settings.IMAGE_UPLOAD_MAX_BYTES // 1_048_576,
            },
            code="too_large",
        )
    if size == 0:
        raise ValidationError(_("Le fichier est vide."), code="empty")


def _open_checked(data: bytes) -> Image.Image:
    """Open and verify ``data`` as an image, or raise ValidationError in French."""
    check_size(len(data))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            image_format = image.format
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(_too_many_pixels(), code="too_many_pixels") from None
    except Exception:  # Pillow raises many kinds of errors on malformed files
        raise ValidationError(
            _("Ce fichier n’est pas une image lisible (formats acceptés : JPEG, PNG, WebP, GIF)."),
            code="not_an_image",
        ) from None
    if image_format not in ACCEPTED_FORMATS:
        raise ValidationError(
            _("Format %(format)s non accepté : envoyez une image JPEG, PNG, WebP ou GIF.")
            % {"format": image_format or "?"},
            code="bad_format",
        )
    if width * height > settings.IMAGE_UPLOAD_MAX_PIXELS or width < 1 or height < 1:
        raise ValidationError(_too_many_pixels(), code="too_many_pixels")
    try:
        Image.open(io.BytesIO(data)).verify()
        image = Image.open(io.BytesIO(data))
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
    except Exception:
        raise ValidationError(
            _("Cette image est endommagée ou incomplète : elle ne peut pas être lue."),
            code="corrupt",
        ) from None
    return image


def _too_many_pixels() -> str:
    megapixels = settings.IMAGE_UPLOAD_MAX_PIXELS // 1_000_000
    return _("L’image est trop grande : %(limit)s millions de pixels au plus.") % {
        "limit": megapixels
    }


def normalize_upload(data: bytes, stem: str = "") -> SimpleUploadedFile:
    """Validate ``data`` and return a re-encoded copy, free of metadata (EXIF
    locations included), rotated upright, named ``<stem>.<real extension>``."""
    image = _open_checked(data)
    image_format = image.format
    extension, content_type = ACCEPTED_FORMATS[image_format]
    output = io.BytesIO()
    if image_format == "GIF":
        frames = getattr(image, "n_frames", 1)
        image.save(output, "GIF", save_all=frames > 1, optimize=False)
    else:
        image = ImageOps.exif_transpose(image)
        if image_format == "JPEG":
            if image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            image.save(output, "JPEG", quality=88, optimize=True, progressive=True)
        elif image_format == "PNG":
            image.save(output, "PNG", optimize=True)
        else:
            image.save(output, "WEBP", quality=85)
    name = f"{stem or uuid.uuid4().hex}.{extension}"
    return SimpleUploadedFile(name, output.getvalue(), content_type=content_type)


# Widths of the resized copies of hero images, for srcset.
RENDITION_WIDTHS = (480, 800, 1200, 1600)


def make_renditions(article) -> dict:
    """Write resized JPEG and WebP copies of the article's hero image (once per
    image) and store where they are on the article. Returns the description; costs
    nothing when the copies are already there, so callers just call it."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from .models import Article

    name = article.hero_image.name if article.hero_image else ""
    if not name:
        if not article.hero_renditions:
            return {}  # nothing to make, nothing to forget
        info = {}
    elif article.hero_renditions.get("source") == name:
        return article.hero_renditions
    else:
        try:
            with default_storage.open(name) as source:
                image = Image.open(source)
                image.load()
        except (OSError, Image.DecompressionBombError) as error:
            # A missing or unreadable file must not break the page or the
            # newsletter that shows it: the original is used instead.
            logger.warning("No renditions for %s: %s", name, error)
            return article.hero_renditions or {}
        if image.mode not in ("RGB", "L"):
            background = Image.new("RGB", image.size, "white")
            rgba = image.convert("RGBA")
            background.paste(rgba, mask=rgba.getchannel("A"))
            image = background
        width, height = image.size
        stem = name.rsplit(".", 1)[0].replace("articles/", "renditions/", 1)
        widths = [w for w in RENDITION_WIDTHS if w < width] + [min(width, RENDITION_WIDTHS[-1])]
        info = {"source": name, "width": width, "height": height, "jpeg": [], "webp": []}
        for target in sorted(set(widths)):
            resized = image.resize(
                (target, max(1, round(height * target / width))),
                Image.Resampling.LANCZOS,
                reducing_gap=2.0,
            )
            for kind, fmt, options in (
                ("jpeg", "JPEG", {"quality": 82, "optimize": True, "progressive": True}),
                ("webp", "WEBP", {"quality": 78, "method": 4}),
            ):
                buffer = io.BytesIO()
                resized.convert("RGB").save(buffer, fmt, **options)
                path = f"{stem}-{target}.{'jpg' if kind == 'jpeg' else 'webp'}"
                if default_storage.exists(path):
                    default_storage.delete(path)
                saved = default_storage.save(path, ContentFile(buffer.getvalue()))
                info[kind].append([target, saved, len(buffer.getvalue())])
    Article.objects.filter(pk=article.pk).update(hero_renditions=info)
    article.hero_renditions = info
    return info


def largest_rendition(article):
    """(URL, bytes) of the largest JPEG copy of the hero image, or None. Reads
    only what make_renditions stored: no file access."""
    from django.conf import settings

    jpegs = (article.hero_renditions or {}).get("jpeg") or []
    if not jpegs or article.hero_renditions.get("source") != article.hero_image.name:
        return None
    width, path, size = jpegs[-1]
    return f"{settings.MEDIA_URL}{path}", size
