"""The allow-list for rich text. Every value of a rich-text field goes through
``sanitize_html`` when it is saved, whatever the editor's browser sent."""

import html
import re

import nh3
from django.conf import settings

from .plaintext import drop_controls

ALLOWED_TAGS = {
    "p",
    "br",
    "h2",
    "h3",
    "strong",
    "em",
    "a",
    "ul",
    "ol",
    "li",
    "blockquote",
    "figure",
    "figcaption",
    "img",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
}
# Classes are allowed through this list only (nh3 forbids "class" in the attributes).
ALLOWED_CLASSES = {
    "figure": {"image", "image-captioned", "image-left", "image-center", "image-right"},
}
URL_SCHEMES = {"http", "https", "mailto"}
# Tags removed together with everything inside them (not only the tag itself).
DROPPED_WITH_CONTENT = {
    "script",
    "style",
    "template",
    "noscript",
    "iframe",
    "object",
    "svg",
    "math",
    "title",
    "textarea",
    "select",
    "xmp",
    "noembed",
    "noframes",
    "plaintext",
}


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        # Images come from our own uploads only: readers' browsers fetch nothing
        # from other hosts, and no data: or javascript: URL can slip through.
        # With media in a bucket, the address starts with the bucket's origin.
        path = value.removeprefix(settings.MEDIA_ORIGIN)
        return value if value.startswith(settings.MEDIA_URL) and "//" not in path else None
    if tag == "img" and attribute in {"width", "height"}:
        return value if value.isdigit() and len(value) <= 5 else None
    return value


def sanitize_html(html: str) -> str:
    """Return ``html`` reduced to the tags, attributes and URL schemes we allow."""
    if not html:
        return ""
    return nh3.clean(
        # Control characters have no place in a page (HTML parsers report
        # them as errors); pasted from Word, they are only noise.
        drop_controls(html),
        tags=ALLOWED_TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_filter_attribute,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
        allowed_classes=ALLOWED_CLASSES,
    ).strip()


_BLOCK_END = re.compile(r"(</(?:p|h[1-6]|li|blockquote|figcaption|div)\s*>|<br\s*/?>)", re.I)
_SPACES = re.compile(r"\s+")


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment (for excerpts, reading time and feeds)."""
    spaced = _BLOCK_END.sub(r"\1 ", drop_controls(fragment or ""))
    text = nh3.clean(spaced, tags=set(), clean_content_tags=DROPPED_WITH_CONTENT)
    return _SPACES.sub(" ", html.unescape(text)).strip()
