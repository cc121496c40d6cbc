"""What the public pages show, prepared in Python: dates in French, cards,
pictures, share links, page metadata, JSON-LD. The Jinja2 environment
(newsroom/jinja.py) gives these to the templates under public_templates/; each function
that feeds a partial returns the values its partial places."""

import functools
import json
from datetime import timedelta
from urllib.parse import quote, urlencode

from django.conf import settings
from django.utils import timezone
from django.utils.dates import MONTHS
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation.trans_real import catalog
from markupsafe import Markup

from articles.models import OriginalLanguage, Section, cached_most_read
from articles.plaintext import clean_values, html_safe, normalize_line
from articles.plaintext import xml_safe as _xml_safe
from articles.renditions import HeroRenditions
from articles.sanitizer import sanitize_html
from newsroom.links import absolute_url, static_url
from newsroom.rendering import local_time

UPDATE_NOTICE_AFTER = timedelta(minutes=15)


def _local(value):
    return local_time(value) if timezone.is_aware(value) else value


def _day(value):
    # French writes the first day of the month as an ordinal: « 1er mai ».
    return _("1er") if value.day == 1 else str(value.day)


def french_date(value):
    """« 19 avril 2024 »."""
    if not value:
        return ""
    value = _local(value)
    # The month as date_format's « F » writes it (the same translated names),
    # without its format machinery: listings show thirty dates.
    return f"{_day(value)} {_month(catalog(), value.month)} {value.year}"


@functools.lru_cache(maxsize=128)
def _month(translation, number):
    """The month's name in ``translation`` (the active catalogue, passed as
    the key: a language code would not tell apart a deactivated one): its lazy
    translation costs a catalogue lookup at every date otherwise."""
    return str(MONTHS[number])


def french_datetime(value):
    """« 19 avril 2024 à 16 h 30 »."""
    if not value:
        return ""
    value = _local(value)
    return _("%(date)s à %(hour)s h %(minute)s") % {
        "date": french_date(value),
        "hour": value.hour,
        "minute": f"{value.minute:02d}",
    }


def was_updated(article):
    """Whether to tell readers the article changed after publication (a quick fix
    in the first minutes does not count)."""
    if not article.published_at or not article.updated_at:
        return False
    return article.updated_at - article.published_at > UPDATE_NOTICE_AFTER


def rich_text(value):
    """Stored rich text as HTML. It was sanitised when saved; it is sanitised
    again here because ``.update()``, ``bulk_update`` and ``loaddata`` write
    around the model (nh3 takes a few tens of microseconds per article)."""
    return mark_safe(sanitize_html(value or ""))  # noqa: S308 (sanitised just now)


def one_line(value):
    """Plain text on one line with no control character (what XML, feeds and
    headers can carry), whatever the row holds."""
    return normalize_line(value or "")


def xml_safe(value):
    """Text without the characters XML cannot carry (for XML templates)."""
    return _xml_safe(value)


LEAD_SIZES = "(min-width: 72rem) 42rem, (min-width: 44rem) 60vw, 100vw"
CARD_SIZES = "(min-width: 72rem) 17rem, (min-width: 44rem) 30vw, 100vw"


def _srcset(copies):
    return ", ".join(f"{copy.url} {copy.width}w" for copy in copies)


def _picture(article, crop, sizes, loading, alt=None, css_class=""):
    """What includes/_picture.html shows of the hero image cropped for ``crop``
    (renditions.CROPS): the copies' srcsets, the fallback, the dimensions; the
    original when there are no copies (an unreadable file)."""
    renditions = HeroRenditions.of(article)
    picture = {
        "alt": article.hero_image_alt if alt is None else alt,
        "sizes": sizes,
        "loading": loading,
        "css_class": css_class,
    }
    if renditions is None:
        return {
            **picture,
            "original": article.hero_image.url,
            "width": article.hero_image_width or "",
            "height": article.hero_image_height or "",
        }
    largest = renditions.largest(crop)
    return {
        **picture,
        "fallback": renditions.fallback(crop).url,
        "jpeg_srcset": _srcset(renditions.copies(crop)),
        "webp_srcset": _srcset(renditions.copies(crop, "webp")),
        "width": largest.width,
        "height": largest.height,
    }


def hero_picture(article, crop="card", sizes="100vw", loading="lazy", alt=None, css_class=""):
    """The hero image cropped for ``crop`` in several widths, WebP with a JPEG
    fallback, with its dimensions so the page does not jump."""
    return {"picture": _picture(article, crop, sizes, loading, alt, css_class)}


def article_card(
    article,
    heading_level=2,
    show_section=False,
    lead=False,
    compact=False,
    short=False,
    loading="lazy",
):
    """An article card for listings: ``lead`` for the big card that opens the
    home page, ``compact`` for a title line without image or standfirst,
    ``short`` without the standfirst. The values are prepared here, the
    template only places them: a listing shows up to thirty cards."""
    picture = None
    if article.hero_image and not compact:
        picture = _picture(
            article,
            "lead" if lead else "card",
            LEAD_SIZES if lead else CARD_SIZES,
            "eager" if lead else loading,
            alt="",
        )
    section = article.section if show_section else None
    return {
        "url": article.get_absolute_url(),
        "title": article.title,
        "standfirst": "" if compact or short else article.standfirst,
        "section_name": section.name if section else "",
        "section_url": section.get_absolute_url() if section else "",
        "published": iso(article.published_at),
        "published_label": french_date(article.published_at),
        "heading_level": int(heading_level),
        "modifiers": " card--lead" * bool(lead) + " card--compact" * bool(compact),
        "picture": picture,
    }


def most_read(heading_level=2):
    """« Les plus lus »: the articles read most in the last hours, from
    first-party counts (ReadCount), with the window and refresh it follows."""
    return {
        "articles": cached_most_read(),
        "heading_level": heading_level,
        "hours": settings.MOST_READ_HOURS,
        "minutes": settings.MOST_READ_REFRESH_SECONDS // 60,
    }


def navigation_sections():
    """The sections of the menu, in its order (newsroom.jinja.navigation caches
    the menu)."""
    return list(Section.objects.all())


def canonical_url(request):
    """This page's address on the public site, keeping only the page number."""
    if request is None:
        return settings.SITE_URL + "/"
    url = settings.SITE_URL + request.path
    page = request.GET.get("page", "")
    if page.isdigit() and page != "1":
        url += "?" + urlencode({"page": page})
    return url


def share_links(article):
    """Plain links to share an article: no third-party script, no tracking."""
    url = f"{settings.SITE_URL}{article.get_absolute_url()}"
    # Quoting works byte by byte: the WhatsApp text is the two quoted halves.
    quoted_url, quoted_title = quote(url, safe=""), quote(article.title, safe="")
    return {
        "links": [
            ("E-mail", f"mailto:?subject={quoted_title}&body={quoted_url}"),
            ("X", f"https://x.com/intent/post?url={quoted_url}&text={quoted_title}"),
            ("Facebook", f"https://www.facebook.com/sharer/sharer.php?u={quoted_url}"),
            ("LinkedIn", f"https://www.linkedin.com/sharing/share-offsite/?url={quoted_url}"),
            ("Telegram", f"https://t.me/share/url?url={quoted_url}&text={quoted_title}"),
            ("WhatsApp", f"https://wa.me/?text={quoted_title}%20{quoted_url}"),
        ]
    }


def _original_language_code(article):
    """The original's language as an ISO 639 code, or "" when it has none."""
    if article.original_language == OriginalLanguage.OTHER:
        return ""
    return article.original_language


def translation_credit(article):
    """« Traduit du russe par A et B », and the original's title and link."""
    return {
        "article": article,
        "translators": article.translators.all(),
        "language_code": _original_language_code(article),
    }


def _person(author):
    return {
        "@type": "Person",
        "name": author.name,
        "url": f"{settings.SITE_URL}{author.get_absolute_url()}",
    }


def _translation_of(article):
    original = {"@type": "CreativeWork"}
    if article.original_title:
        original["name"] = article.original_title
    if article.original_url:
        original["url"] = article.original_url
    if code := _original_language_code(article):
        original["inLanguage"] = code
    return original


def _absolute_media(rendition):
    return absolute_url(rendition.url) if rendition else ""


def article_json_ld(article):
    """schema.org NewsArticle for search engines, as JSON for a
    <script type="application/ld+json"> element."""
    url = f"{settings.SITE_URL}{article.get_absolute_url()}"
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title[:110],
        "description": article.standfirst,
        "datePublished": article.published_at.isoformat() if article.published_at else None,
        "dateModified": article.updated_at.isoformat(),
        "author": [_person(author) for author in article.authors.all()],
        "publisher": {
            "@type": "Organization",
            "name": settings.SITE_NAME,
            "logo": {
                "@type": "ImageObject",
                "url": f"{settings.SITE_URL}{static_url('images/logo.png')}",
            },
        },
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "articleSection": article.section.name,
        "keywords": [tag.name for tag in article.tags.all()],
        "inLanguage": "fr",
    }
    if article.original_language:
        if translators := [_person(author) for author in article.translators.all()]:
            data["translator"] = translators
        data["translationOfWork"] = _translation_of(article)
    renditions = HeroRenditions.of(article)
    if renditions is not None:
        # Search engines take several shapes of the same image.
        data["image"] = [
            _absolute_media(renditions.largest(crop)) for crop in ("social", "lead", "card")
        ]
    elif article.hero_image:
        data["image"] = [absolute_url(article.hero_image.url)]
    # Stored text is normalised on save, but a row written around the models may
    # hold control characters: JSON would carry them escaped, search engines
    # would read them. They go, as from the rest of the page.
    encoded = json.dumps(clean_values(data, html_safe), ensure_ascii=False)
    return mark_safe(encoded.replace("<", "\\u003c"))  # noqa: S308 (no "<" left)


DEFAULT_DESCRIPTION = gettext_lazy(
    "L’actualité de l’Asie centrale en français : Kazakhstan, Kirghizistan, Ouzbékistan, "
    "Tadjikistan, Turkménistan."
)


def page_meta(request, title=None, description=None, image=None, kind="website"):
    """Description, canonical address, Open Graph and Twitter card of a page.
    ``title`` and ``description`` are text; a translated sentence with a name
    in it comes already escaped (Markup) and is read back as text, so that the
    partial escapes it once (« Gaz &amp; pétrole », not « Gaz &amp;amp; … »)."""
    description, title = (
        Markup(value).unescape() if hasattr(value, "__html__") else value
        for value in (description, title)
    )
    description = " ".join(str(description or DEFAULT_DESCRIPTION).split())
    if len(description) > 300:
        description = description[:299] + "…"
    return {
        "description": description,
        "canonical": canonical_url(request),
        "site_name": settings.SITE_NAME,
        "kind": kind,
        "title": title or settings.SITE_NAME,
        "image": image or f"{settings.SITE_URL}{static_url('images/og-default.png')}",
    }


def social_image_url(article):
    """Absolute address of the image social networks show for the article
    (1200 × 630), the original image without copies, or ""."""
    renditions = HeroRenditions.of(article)
    if renditions is not None:
        return _absolute_media(renditions.largest("social"))
    return absolute_url(article.hero_image.url) if article.hero_image else ""


def iso(value):
    """Machine-readable date for <time datetime>, to the second."""
    return _local(value).isoformat(timespec="seconds") if value else ""


def pagination(page, **kept):
    """Links to the pages before and after ``page``, carrying the page number and
    the parameters given here (the search passes its query), nothing else.

    Copying all of request.GET would carry utm_… and other parameters when the
    page cache is bypassed (staff), ``source`` or ``p`` when it is not. Links
    on a cached page must name only what that page reads, so that following
    them lands on the one cached copy."""
    params = {name: value for name, value in kept.items() if value}

    def link(number):
        return "?" + urlencode({**params, "page": number})

    return {
        "page": page,
        "previous": link(page.previous_page_number()) if page.has_previous() else "",
        "next": link(page.next_page_number()) if page.has_next() else "",
    }
