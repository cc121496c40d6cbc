"""Plain text as people and imports type it, made safe to store and to put in
any output. Every plain-text field of the project is normalised here when it is
saved (see ``fields.PlainTextField``), and the XML outputs also pass what they
write through ``xml_safe``, for rows written around the models.

What changes: Unicode is composed (NFC); lone surrogates, NUL and other control
characters go; Word's vertical tab and form feed become a line break (or a space
on one line); single-line values lose bidirectional overrides and line breaks,
and their runs of spaces are folded (a lone no-break space is kept)."""

import re
import unicodedata

# Noncharacters: U+FDD0-U+FDEF and the last two code points of every plane.
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17)
)
# C0 and C1 controls other than tab, line feed and carriage return,
# noncharacters, and lone surrogates.
_CONTROLS = re.compile(f"[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff{_NONCHARACTERS}]")
# Vertical tab, form feed and the Unicode separators: line breaks in a text.
_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# Embeddings, overrides and isolates: they can reverse how a line reads.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
# A run of spaces on one line becomes one space; a lone no-break space stays
# (French spacing puts them before « : ; ! ? » and inside guillemets).
_SPACES = re.compile(r"[^\S\n]{2,}|[^\S\n\xa0\u202f]")
_TRAILING_SPACES = re.compile(r"[^\S\n]+\n")
# Characters XML 1.0 cannot carry, even escaped, and those it discourages
# (DEL, C1 controls, noncharacters: feed readers take C1 for Windows-1252).
_NOT_XML = re.compile(
    f"[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[{_NONCHARACTERS}]"
)


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


# Everything but what _BREAKS and _CONTROLS change: tab, line feed, printable
# ASCII and the rest of the Basic Multilingual Plane without C1 controls, the
# two separators, surrogates and noncharacters (astral characters are checked
# the long way).
_UNUSUAL = re.compile("[^\t\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufdcf\ufdf0-\ufffd]")


def drop_controls(value: str) -> str:
    """Rich text (HTML) without control characters or lone surrogates; its
    vertical tabs and form feeds become line breaks (whitespace in HTML).

    Every article page and excerpt passes its body here: a body with nothing to
    drop (nearly all) is checked with one simple class, ten times faster than
    the two substitutions."""
    if _UNUSUAL.search(value) is None:
        return unicodedata.normalize("NFC", value)
    return _clean(_BREAKS.sub("\n", value))


# What an HTML page may not contain, even as text (the HTML standard makes
# controls other than whitespace, and noncharacters, parse errors), in UTF-8
# bytes: C0 controls but tab, line feed, form feed and carriage return; DEL;
# C1 controls (U+0080-U+009F); U+FDD0-U+FDEF; U+FFFE and U+FFFF of each plane.
_NOT_HTML_BYTES = re.compile(
    rb"[\x00-\x08\x0b\x0e-\x1f\x7f]|\xc2[\x80-\x9f]|\xef\xb7[\x90-\xaf]"
    rb"|\xef\xbf[\xbe\xbf]|[\xf0-\xf4][\x8f\x9f\xaf\xbf]\xbf[\xbe\xbf]"
)


# The bytes those sequences start with. A pattern of alternatives is tried at
# every position of the page (measured: 1.1 ms on a 24 kB article page); one
# set of bytes is looked for in C, and French pages have few of them (« and
# the no-break spaces start with \xc2), each of which is then checked.
_NOT_HTML_FIRST_BYTES = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f\xc2\xef\xf0-\xf4]")


def html_safe_bytes(content: bytes) -> bytes:
    """An UTF-8 HTML document without the characters HTML cannot carry."""
    kept, end = [], 0
    for candidate in _NOT_HTML_FIRST_BYTES.finditer(content):
        start = candidate.start()
        if start < end:
            continue  # inside the sequence just dropped
        unwanted = _NOT_HTML_BYTES.match(content, start)
        if unwanted is not None:
            kept.append(content[end:start])
            end = unwanted.end()
    if not kept:
        return content
    kept.append(content[end:])
    return b"".join(kept)


def html_safe(value: str) -> str:
    """``html_safe_bytes`` for a str."""
    return html_safe_bytes(value.encode("utf-8", "surrogatepass")).decode("utf-8", "replace")


def xml_safe(value):
    """``value`` without the characters XML 1.0 cannot carry or discourages;
    other values as they are."""
    if isinstance(value, str):
        return _NOT_XML.sub("", value)
    return value


def clean_values(value, clean):
    """``value`` with ``clean`` applied to every string in it, through lists,
    tuples and dicts (lazy translations count as strings); other values as they
    are. For outputs built from many values: a feed's items, JSON-LD."""
    from django.utils.functional import Promise

    if isinstance(value, str | Promise):
        return clean(str(value))
    if isinstance(value, dict):
        return {key: clean_values(item, clean) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(clean_values(item, clean) for item in value)
    return value


def normalize_stored_rows(apps, app_label, plain_fields):
    """For data migrations: normalise what was stored before the fields did it
    on save. ``plain_fields`` is {model name: [(field, kind)]}, the kind "line"
    or "text" (normalize_line, normalize_text), or "typography" (French
    spacing, typography.py)."""
    from .typography import french_spacing

    treat = {"line": normalize_line, "text": normalize_text, "typography": french_spacing}
    for model_name, fields in plain_fields.items():
        model = apps.get_model(app_label, model_name)
        names = [name for name, _ in fields]
        for row in model.objects.only("pk", *names).iterator(chunk_size=500):
            changes = {}
            for name, kind in fields:
                value = getattr(row, name)
                cleaned = treat[kind](value)
                if cleaned != value:
                    changes[name] = cleaned
            if changes:
                model.objects.filter(pk=row.pk).update(**changes)
