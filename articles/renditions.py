"""Resized copies of an article's hero image, cropped around its focal point.

They are made when the image or its focal point changes (``SafeImageField``'s
``pre_save``, for every writer that saves the article) and described in the
article's ``hero_renditions``; pages, feeds and emails read that description
through ``HeroRenditions``, without opening a file."""

import hashlib
import io
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext_lazy as _
from PIL import Image

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Crop:
    label: str  # for the editors, in the focal point picker
    ratio: float
    widths: tuple[int, ...]
    formats: tuple[str, ...] = ("jpeg", "webp")


# What each use shows, and in which widths (srcset): cards 3:2, the lead image of
# the article and of the home page 16:9, and the image social networks and
# search engines show (Open Graph, JSON-LD) at 1.91:1, 1200 × 630.
CROPS = {
    "card": Crop(_("Cartes (3:2)"), 3 / 2, (480, 800)),
    "lead": Crop(_("Image d’ouverture (16:9)"), 16 / 9, (800, 1200, 1600)),
    "social": Crop(_("Réseaux sociaux (1200 × 630)"), 1200 / 630, (1200,), ("jpeg",)),
}
ENCODERS = {
    "jpeg": ("JPEG", "jpg", {"quality": 82, "optimize": True, "progressive": True}),
    "webp": ("WEBP", "webp", {"quality": 78, "method": 4}),
}
# Bumped when CROPS or the encoders change: stored copies of another version are
# made again at the next save (see manage.py make_renditions).
VERSION = 2
CENTRE = 0.5


def renditions_key(name, focal_x, focal_y):
    """What the copies were made from: the file, the focal point, the version."""
    return f"{name}|{focal_x:.3f}|{focal_y:.3f}|v{VERSION}"


def crop_box(width, height, ratio, focal_x=CENTRE, focal_y=CENTRE):
    """The largest box of ``ratio`` inside a ``width`` × ``height`` image, centred
    on the focal point (fractions of the width and height) as far as the edges
    allow: (left, top, right, bottom). static/js/focal-point.js computes the same
    box for its previews (with Python's rounding of halves to even)."""
    if width / height > ratio:
        box_width, box_height = max(1, min(width, round(height * ratio))), height
    else:
        box_width, box_height = width, max(1, min(height, round(width / ratio)))
    left = min(max(round(focal_x * width - box_width / 2), 0), width - box_width)
    top = min(max(round(focal_y * height - box_height / 2), 0), height - box_height)
    return left, top, left + box_width, top + box_height


def make_renditions(name, focal_x=CENTRE, focal_y=CENTRE):
    """Write the copies of the stored image ``name`` and return their description
    for ``hero_renditions``; {} when the file cannot be read or encoded (logged:
    pages then show the original, nothing breaks)."""
    try:
        with default_storage.open(name) as source:
            image = Image.open(source)
            image.load()
    except (OSError, Image.DecompressionBombError) as error:
        logger.warning("No renditions for %s: %s", name, error)
        return {}
    if image.mode not in ("RGB", "L"):
        background = Image.new("RGB", image.size, "white")
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    key = renditions_key(name, focal_x, focal_y)
    # The focal point is in the names: copies are served as immutable, so a new
    # crop needs a new address.
    stem = name.rsplit(".", 1)[0].replace("articles/", "renditions/", 1)
    stem += "-" + hashlib.sha256(key.encode()).hexdigest()[:8]
    info = {"key": key, "width": image.width, "height": image.height, "crops": {}}
    try:
        for crop_name, crop in CROPS.items():
            info["crops"][crop_name] = _write_crop(
                image, f"{stem}-{crop_name}", crop, focal_x, focal_y
            )
    except (OSError, ValueError) as error:
        # A file the encoders refuse (stored before the upload checks, or written
        # around them) keeps its original.
        logger.warning("No renditions for %s: %s", name, error)
        return {}
    return info


def _write_crop(image, stem, crop, focal_x, focal_y):
    box = crop_box(image.width, image.height, crop.ratio, focal_x, focal_y)
    box_width = box[2] - box[0]
    cropped = image.crop(box)
    widths = sorted({w for w in crop.widths if w < box_width} | {min(box_width, crop.widths[-1])})
    described = {kind: [] for kind in crop.formats}
    for width in widths:
        height = max(1, round(width / crop.ratio))
        resized = cropped.resize(
            (width, height), Image.Resampling.LANCZOS, reducing_gap=2.0
        ).convert("RGB")
        for kind in crop.formats:
            pil_format, extension, options = ENCODERS[kind]
            buffer = io.BytesIO()
            resized.save(buffer, pil_format, **options)
            path = f"{stem}-{width}.{extension}"
            if default_storage.exists(path):
                default_storage.delete(path)
            saved = default_storage.save(path, ContentFile(buffer.getvalue()))
            described[kind].append([width, height, saved, len(buffer.getvalue())])
    return described


@dataclass(frozen=True)
class Rendition:
    width: int
    height: int
    url: str
    bytes: int


class HeroRenditions:
    """The copies of an article's hero image, as stored: the one way pages,
    feeds and emails read them. ``of()`` gives None when the article has no
    image or no copies of this image and focal point (the original is then
    shown)."""

    def __init__(self, crops):
        self._crops = crops

    @classmethod
    def of(cls, article):
        stored = article.hero_renditions or {}
        if not article.hero_image or not stored.get("crops"):
            return None
        key = renditions_key(article.hero_image.name, article.hero_focal_x, article.hero_focal_y)
        if stored.get("key") != key:
            return None
        return cls(stored["crops"])

    def copies(self, crop, kind="jpeg"):
        """The copies of ``crop`` in format ``kind``, narrowest first."""
        media = settings.MEDIA_URL
        return [
            Rendition(width, height, f"{media}{path}", size)
            for width, height, path, size in self._crops.get(crop, {}).get(kind, [])
        ]

    def largest(self, crop, kind="jpeg"):
        copies = self.copies(crop, kind)
        return copies[-1] if copies else None

    def fallback(self, crop):
        """The JPEG for browsers that read no srcset: 800 pixels wide, or less."""
        copies = self.copies(crop)
        return next((copy for copy in copies if copy.width >= 800), copies[-1])
