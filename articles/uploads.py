"""Uploaded images: only real images that Pillow can read, within limits on bytes
and pixels, re-encoded without their metadata and named after their real format.
(The resized copies pages show are made in renditions.py.)"""

import io
import secrets
import warnings

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, ImageSequence

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
    """Open and verify ``data`` as an image, or raise ValidationError in French.
    Every limit (bytes, sides, pixels times frames) is checked on the header,
    before any pixel is decoded, so no file costs more than a bounded time and
    memory to refuse or to accept."""
    check_size(len(data))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            image_format = image.format
            frames = _frame_count(data) if image_format == "GIF" else _n_frames(image)
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
    if width < 1 or height < 1 or width * height > settings.IMAGE_UPLOAD_MAX_PIXELS:
        raise ValidationError(_too_many_pixels(), code="too_many_pixels")
    if max(width, height) > MAX_SIDE:
        raise ValidationError(
            _(
                "L’image mesure %(width)s × %(height)s pixels : un côté dépasse la limite de "
                "%(limit)s pixels. Recadrez-la ou découpez-la en plusieurs images."
            )
            % {"width": width, "height": height, "limit": f"{MAX_SIDE:,}".replace(",", "\u202f")},
            code="too_long",
        )
    if frames > settings.IMAGE_UPLOAD_MAX_FRAMES or (
        frames * width * height > settings.IMAGE_UPLOAD_MAX_PIXELS
    ):
        raise ValidationError(
            _(
                "Cette animation compte trop d’images (%(frames)s de %(width)s × %(height)s "
                "pixels) : réduisez sa taille ou son nombre d’images."
            )
            % {"frames": frames, "width": width, "height": height},
            code="too_many_frames",
        )
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


# The largest side any output format takes (WebP's limit; JPEG's is 65,535).
MAX_SIDE = 16_383


def _n_frames(image) -> int:
    # PNG (acTL) and WebP state their frame count in the header.
    return max(1, int(getattr(image, "n_frames", 1)))


def _frame_count(data: bytes) -> int:
    """The number of images in a GIF, read from its block structure without
    decoding any (Pillow's n_frames decodes every frame to count them)."""
    view = memoryview(data)
    position = 13
    if len(view) < position:
        raise ValueError("truncated GIF")
    if view[10] & 0x80:
        position += 3 * 2 ** ((view[10] & 0x07) + 1)
    frames = 0
    while position < len(view):
        marker = view[position]
        if marker == 0x3B:  # trailer
            break
        if marker == 0x21:  # extension: label, then sub-blocks
            position += 2
        elif marker == 0x2C:  # image descriptor, local colour table, LZW code size
            frames += 1
            if position + 10 > len(view):
                break
            packed = view[position + 9]
            position += 10
            if packed & 0x80:
                position += 3 * 2 ** ((packed & 0x07) + 1)
            position += 1
        else:
            break  # garbage after the last image: Pillow decides if it is readable
        while position < len(view) and view[position]:
            position += view[position] + 1
        position += 1
    return max(frames, 1)


def _too_many_pixels() -> str:
    megapixels = settings.IMAGE_UPLOAD_MAX_PIXELS // 1_000_000
    return _("L’image est trop grande : %(limit)s millions de pixels au plus.") % {
        "limit": megapixels
    }


# What survives re-encoding: pixels, the colour profile, and how an animation
# plays. Comments, text chunks, EXIF and XMP do not (they can carry locations,
# names, or script for a polyglot file).
KEPT_INFO = {"icc_profile", "transparency", "duration", "loop", "background"}


def _pixels_only(image: Image.Image) -> Image.Image:
    image.info = {key: value for key, value in image.info.items() if key in KEPT_INFO}
    return image


def _gif_frames(image: Image.Image) -> tuple[list, dict]:
    frames, durations, disposals = [], [], []
    for frame in ImageSequence.Iterator(image):
        durations.append(frame.info.get("duration", 100))
        disposals.append(getattr(frame, "disposal_method", 0))
        frames.append(_pixels_only(frame.copy()))
    options = {"duration": durations, "disposal": disposals, "loop": image.info.get("loop", 0)}
    return frames, options


def normalize_upload(data: bytes) -> SimpleUploadedFile:
    """Validate ``data`` and return a re-encoded copy that keeps the pixels and
    colour profile and nothing else (no EXIF location, no comment), rotated
    upright, under an unguessable name with its real extension: a draft's
    images cannot be found before the draft is published."""
    image = _open_checked(data)
    image_format = image.format
    extension, content_type = ACCEPTED_FORMATS[image_format]
    output = io.BytesIO()
    if image_format == "GIF":
        frames, options = _gif_frames(image)
        if len(frames) > 1:
            frames[0].save(
                output, "GIF", save_all=True, append_images=frames[1:], optimize=False, **options
            )
        else:
            frames[0].save(output, "GIF", optimize=False)
    else:
        image = _pixels_only(ImageOps.exif_transpose(image))
        icc = {"icc_profile": image.info["icc_profile"]} if "icc_profile" in image.info else {}
        if image_format == "JPEG":
            if image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            image.save(output, "JPEG", quality=88, optimize=True, progressive=True, **icc)
        elif image_format == "PNG":
            image.save(output, "PNG", optimize=True, **icc)
        else:
            image.save(output, "WEBP", quality=85, **icc)
    name = f"{secrets.token_hex(16)}.{extension}"
    return SimpleUploadedFile(name, output.getvalue(), content_type=content_type)
