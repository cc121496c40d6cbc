"""French typography for published text: non-breaking spaces before « ; : ! ? »
and inside « guillemets », applied to text only, never to tags, attributes or URLs."""

import re

from django.utils.safestring import SafeString, mark_safe

NBSP = "\u00a0"  # before : and inside guillemets
NNBSP = "\u202f"  # narrow no-break space, before ; ! ?

_TAG = re.compile(r"(<[^>]*>)")
# A space (or none, for » which always takes one) before the punctuation.
_BEFORE_HIGH = re.compile(r"[ \t\u00a0\u202f]+([;!?])")
_BEFORE_COLON = re.compile(r"[ \t\u00a0\u202f]+(:)")
_AFTER_OPENING = re.compile(r"«[ \t\u00a0\u202f]*")
_BEFORE_CLOSING = re.compile(r"[ \t\u00a0\u202f]*»")


def _fix_text(text: str) -> str:
    text = _BEFORE_HIGH.sub(NNBSP + r"\1", text)
    text = _BEFORE_COLON.sub(NBSP + r"\1", text)
    text = _AFTER_OPENING.sub("«" + NBSP, text)
    return _BEFORE_CLOSING.sub(NBSP + "»", text)


def french_spacing(value: str) -> str:
    """Apply French spacing to the text of ``value`` (plain text or HTML).

    Only spaces already typed before ; : ! ? are replaced, so times (16:30), URLs
    (https://…) and ratios are left alone; guillemets always get their spaces."""
    if not value:
        return value
    if "<" not in value:
        result = _fix_text(value)
    else:
        parts = _TAG.split(value)
        # Even indexes are text between tags, odd ones the tags themselves.
        result = "".join(_fix_text(part) if i % 2 == 0 else part for i, part in enumerate(parts))
    return mark_safe(result) if isinstance(value, SafeString) else result
