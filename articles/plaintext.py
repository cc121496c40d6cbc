"""Plain text as people and imports type it, made safe to store and to put in
any output. Every plain-text field of the project is normalised here when it is
saved (see ``fields.PlainTextField``), and the XML outputs also pass what they
write through ``xml_safe``, for rows written around the models.

What changes: Unicode is composed (NFC); lone surrogates, NUL and other control
characters go; Word's vertical tab and form feed become a line break (or a space
on one line); single-line values lose bidirectional overrides and line breaks,
and their runs of spaces are folded."""

import re
import unicodedata

# C0 and C1 controls other than tab, line feed and carriage return, the
# noncharacters U+FFFE/U+FFFF, and lone surrogates.
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
# Vertical tab, form feed and the Unicode separators: line breaks in a text.
_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# Embeddings, overrides and isolates: they can reverse how a line reads.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(r"[^\S\n]+")
_TRAILING_SPACES = re.compile(r"[^\S\n]+\n")
# Characters XML 1.0 cannot carry, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(value: str) -> str:
    # Lone surrogates go first: NFC cannot be applied to them.
    value = _CONTROLS.sub("", str(value))
    return unicodedata.normalize("NFC", value)


def normalize_text(value) -> str:
    """A text of several lines (a standfirst, a bio, a note)."""
    if value is None:
        return value
    value = _BREAKS.sub("\n", str(value))
    value = _clean(value.replace("\t", " "))
    return _TRAILING_SPACES.sub("\n", value).strip()


def normalize_line(value) -> str:
    """A value of one line (a title, a name, a caption, a subject)."""
    if value is None:
        return value
    value = _BIDI_CONTROLS.sub("", _clean(_BREAKS.sub(" ", str(value))))
    return _SPACES.sub(" ", value.replace("\n", " ")).strip()


def xml_safe(value):
    """``value`` without the characters XML 1.0 cannot carry; other values as
    they are."""
    if isinstance(value, str):
        return _NOT_XML.sub("", value)
    return value


def normalize_stored_rows(apps, app_label, plain_fields):
    """For data migrations: normalise what was stored before the fields did it
    on save. ``plain_fields`` is {model name: [(field, "line" or "text")]}."""
    for model_name, fields in plain_fields.items():
        model = apps.get_model(app_label, model_name)
        names = [name for name, _ in fields]
        for row in model.objects.only("pk", *names).iterator(chunk_size=500):
            changes = {}
            for name, kind in fields:
                value = getattr(row, name)
                cleaned = (normalize_line if kind == "line" else normalize_text)(value)
                if cleaned != value:
                    changes[name] = cleaned
            if changes:
                model.objects.filter(pk=row.pk).update(**changes)
