"""Model fields for article content. The rich-text field is defined here and only
here, so the editor can be replaced by changing this one module."""

import logging

from ckeditor_uploader.fields import RichTextUploadingField
from django import forms
from django.db import models

from .images import check_size, normalize_upload
from .plaintext import normalize_line, normalize_text
from .sanitizer import sanitize_html
from .typography import french_spacing

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
    the article."""

    def update_dimension_fields(self, instance, force=False, *args, **kwargs):
        try:
            super().update_dimension_fields(instance, force, *args, **kwargs)
        except OSError as error:  # FileNotFoundError, or the storage is away
            logger.warning("Image %s unreadable: %s", getattr(instance, self.attname), error)

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": SafeImageFormField, **kwargs})


class PlainCharField(models.CharField):
    """One line of plain text (a title, a name, a caption), normalised by
    ``plaintext.normalize_line`` on every path that saves it: forms and the
    admin (through ``to_python``, so errors show next to the field) and the ORM
    (``pre_save``)."""

    def to_python(self, value):
        return normalize_line(super().to_python(value))

    def pre_save(self, model_instance, add):
        value = normalize_line(getattr(model_instance, self.attname))
        setattr(model_instance, self.attname, value)
        return value


class PlainTextField(models.TextField):
    """Plain text of several lines (a standfirst, a bio), normalised by
    ``plaintext.normalize_text`` on every path that saves it."""

    def to_python(self, value):
        return normalize_text(super().to_python(value))

    def pre_save(self, model_instance, add):
        value = normalize_text(getattr(model_instance, self.attname))
        setattr(model_instance, self.attname, value)
        return value
