"""Model fields for article content. The rich-text field is defined here and only
here, so the editor can be replaced by changing this one module."""

import logging

from ckeditor_uploader.fields import RichTextUploadingField
from django import forms
from django.core.validators import URLValidator
from django.db import models

from .plaintext import normalize_line, normalize_text
from .renditions import make_renditions, renditions_key
from .sanitizer import sanitize_html
from .typography import french_spacing
from .uploads import check_size, normalize_upload

logger = logging.getLogger(__name__)


class RichTextField(RichTextUploadingField):
    """Rich text edited with CKEditor, sanitised with nh3 and given French spacing
    whenever it is saved (so pages do not redo it on every request)."""

    def pre_save(self, model_instance, add):
        value = french_spacing(sanitize_html(getattr(model_instance, self.attname) or ""))
        setattr(model_instance, self.attname, value)
        return value


class SafeImageFormField(forms.ImageField):
    """Accepts only real images within the configured limits, and hands on a
    re-encoded copy named after its detected format."""

    def to_python(self, data):
        # FileField's checks only: ours replace ImageField's Pillow check, with
        # clearer messages and limits on bytes and pixels.
        upload = forms.FileField.to_python(self, data)
        if upload is None:
            return None
        check_size(upload.size)
        upload.seek(0)
        return normalize_upload(upload.read())


class SafeImageField(models.ImageField):
    """An image field whose stored dimensions are trusted: a row without them
    (written around the field) opens its file when loaded, and a file missing
    from storage leaves them empty instead of breaking every page that lists
    the article.

    With ``renditions_field`` (a JSONField declared after this one, so that the
    same INSERT or UPDATE writes it) and ``focal_point_fields`` (the focal point's
    x and y, fractions of the width and height), saving an image or a new focal
    point makes the resized copies pages show (renditions.py): every writer
    that saves the model makes them, no reader ever does."""

    def __init__(self, *args, renditions_field=None, focal_point_fields=None, **kwargs):
        self.renditions_field = renditions_field
        self.focal_point_fields = focal_point_fields
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.renditions_field:
            kwargs["renditions_field"] = self.renditions_field
        if self.focal_point_fields:
            kwargs["focal_point_fields"] = self.focal_point_fields
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        file = super().pre_save(model_instance, add)  # stores a new upload
        if self.renditions_field:
            self.derive_renditions(model_instance)
        return file

    def derive_renditions(self, instance):
        """Make the copies of ``instance``'s image and focal point unless its
        renditions field already describes them. Returns whether it changed."""
        file = getattr(instance, self.attname)
        focal = [getattr(instance, field) for field in self.focal_point_fields or ()]
        stored = getattr(instance, self.renditions_field) or {}
        if not file:
            derived = {}
        elif stored.get("key") == renditions_key(file.name, *focal):
            return False
        else:
            derived = make_renditions(file.name, *focal)
        setattr(instance, self.renditions_field, derived)
        return derived != stored

    def update_dimension_fields(self, instance, force=False, *args, **kwargs):
        # Django runs this for every instance loaded (post_init), and its first
        # step builds the FieldFile. A listing loads thirty articles whose
        # dimensions are stored: the row alone says there is nothing to do.
        values = instance.__dict__
        if not force and (
            not values.get(self.attname)
            or all(values.get(field) for field in (self.width_field, self.height_field) if field)
        ):
            return
        try:
            super().update_dimension_fields(instance, force, *args, **kwargs)
        except OSError as error:  # FileNotFoundError, or the storage is away
            logger.warning("Image %s unreadable: %s", getattr(instance, self.attname), error)

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": SafeImageFormField, **kwargs})


class TypographyMixin:
    """``typography=True``: published text, given French spacing when saved
    (typography.py), so that pages, feeds and emails show it as stored."""

    def __init__(self, *args, typography=False, **kwargs):
        self.typography = typography
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.typography:
            kwargs["typography"] = True
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        value = self.normalize(getattr(model_instance, self.attname))
        if self.typography:
            # Normalised again: spacing at an edge (« « » alone) would not
            # survive the normalisation Django applies when it writes the value.
            value = self.normalize(french_spacing(value))
        setattr(model_instance, self.attname, value)
        return value


class PlainCharField(TypographyMixin, models.CharField):
    """One line of plain text (a title, a name, a caption), normalised by
    ``plaintext.normalize_line`` on every path that saves it: forms and the
    admin (through ``to_python``, so errors show next to the field) and the ORM
    (``pre_save``)."""

    normalize = staticmethod(normalize_line)

    def to_python(self, value):
        return normalize_line(super().to_python(value))


class PlainTextField(TypographyMixin, models.TextField):
    """Plain text of several lines (a standfirst, a bio), normalised by
    ``plaintext.normalize_text`` on every path that saves it."""

    normalize = staticmethod(normalize_text)

    def to_python(self, value):
        return normalize_text(super().to_python(value))


class WebAddressField(models.URLField):
    """The address of a web page: http or https only (no ``javascript:`` or
    ``ftp:`` link on a page); typed without a scheme, it is taken as https."""

    default_validators = [URLValidator(schemes=["http", "https"])]

    def formfield(self, **kwargs):
        return super().formfield(**{"assume_scheme": "https", **kwargs})
