import json
from datetime import timedelta
from html import escape as escape_html
from urllib.parse import quote, urlencode

from django import template
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from django.http import QueryDict
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from articles.images import make_renditions
from articles.models import NAVIGATION_CACHE_KEY, Section
from articles.plaintext import clean_values, html_safe, normalize_line
from articles.plaintext import xml_safe as _xml_safe
from articles.sanitizer import sanitize_html
from articles.typography import french_spacing
from newsroom.links import absolute_url
from newsroom.pagecache import versioned_key, versioned_timeout

register = template.Library()
UPDATE_NOTICE_AFTER = timedelta(minutes=15)


def _local(value):
    return timezone.localtime(value) if timezone.is_aware(value) else value


def _day(value):
    # French writes the first day of the month as an ordinal: « 1er mai ».
    return _("1er") if value.day == 1 else str(value.day)


@register.filter
def french_date(value):
    """« 19 avril 2024 »."""
    if not value:
        return ""
    value = _local(value)
    return f"{_day(value)} {date_format(value, 'F Y')}"


@register.filter
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


@register.filter
def was_updated(article):
    """Whether to tell readers the article changed after publication (a quick fix
    in the first minutes does not count)."""
    if not article.published_at or not article.updated_at:
        return False
    return article.updated_at - article.published_at > UPDATE_NOTICE_AFTER


@register.filter
def rich_text(value):
    """Stored rich text as HTML. It was sanitised when saved; it is sanitised
    again here because ``.update()``, ``bulk_update`` and ``loaddata`` write
    around the model (nh3 takes a few tens of microseconds per article)."""
    return mark_safe(sanitize_html(value or ""))  # noqa: S308 (sanitised just now)


@register.filter
def one_line(value):
    """Plain text on one line with no control character (what XML, feeds and
    headers can carry), whatever the row holds."""
    return normalize_line(value or "")


@register.filter
def xml_safe(value):
    """Text without the characters XML cannot carry (for XML templates)."""
    return _xml_safe(value)


@register.filter
def fr(value):
    """French spacing (« ; : ! ? » and guillemets) on published text or HTML."""
    return french_spacing(value)


def _e(value) -> str:
    """``value`` escaped for HTML, as format_html escapes its arguments (the
    cards and pictures below are built by hand: a listing shows thirty of
    them, and format_html's checks cost more than the rest of the card)."""
    return escape_html(str(value))


@register.simple_tag
def hero_picture(article, sizes="100vw", loading="lazy", alt=None, css_class=""):
    """The hero image in several widths, WebP with a JPEG fallback, with its
    dimensions so the page does not jump. Copies are made once per image.
    Built in Python: it is on every card of every listing."""
    if not article.hero_image:
        return ""
    info = make_renditions(article)
    media = settings.MEDIA_URL
    jpegs = info.get("jpeg") or []
    alt = article.hero_image_alt if alt is None else alt
    if not jpegs:  # no copies (unreadable file): the original, as it is
        return mark_safe(  # noqa: S308 (every value escaped)
            f'<img src="{_e(article.hero_image.url)}" width="{_e(article.hero_image_width or "")}"'
            f' height="{_e(article.hero_image_height or "")}" alt="{_e(alt)}"'
            f' loading="{_e(loading)}">'
        )
    fallback = next((path for width, path, *_ in jpegs if width >= 800), jpegs[-1][1])
    webp_set = ", ".join(f"{media}{path} {width}w" for width, path, *_ in info.get("webp", []))
    jpeg_set = ", ".join(f"{media}{path} {width}w" for width, path, *_ in jpegs)
    css = f' class="{_e(css_class)}"' if css_class else ""
    return mark_safe(  # noqa: S308 (every value escaped)
        f'<picture><source type="image/webp" srcset="{_e(webp_set)}" sizes="{_e(sizes)}">'
        f'<img src="{_e(media + fallback)}" srcset="{_e(jpeg_set)}" sizes="{_e(sizes)}"'
        f' width="{_e(info["width"])}" height="{_e(info["height"])}" alt="{_e(alt)}"'
        f' loading="{_e(loading)}" decoding="async"{css}></picture>'
    )


@register.simple_tag(takes_context=True)
def site_navigation(context):
    """The section menu, rendered once and kept with the cached sections."""
    current = context.get("current_section_slug", "")
    try:
        key = versioned_key(f"{NAVIGATION_CACHE_KEY}:html:{current}")
        html = cache.get(key)
        if html is None:
            sections = Section.objects.navigation()
            html = render_to_string(
                "includes/navigation.html", {"sections": sections, "current": current}
            )
            cache.set(key, html, versioned_timeout(3600))
    except DatabaseError:
        return ""  # error pages still render when the database is down
    return mark_safe(html)


@register.simple_tag(takes_context=True)
def canonical_url(context):
    """This page's address on the public site, keeping only the page number."""
    request = context.get("request")
    if request is None:
        return settings.SITE_URL + "/"
    url = settings.SITE_URL + request.path
    page = request.GET.get("page", "")
    if page.isdigit() and page != "1":
        url += "?" + urlencode({"page": page})
    return url


SHARE_LABEL = gettext_lazy("Partager cet article")


@register.simple_tag
def share_links(article):
    """Plain links to share an article: no third-party script, no tracking."""
    url = f"{settings.SITE_URL}{article.get_absolute_url()}"
    quoted_url, quoted_title = quote(url, safe=""), quote(article.title, safe="")
    links = [
        ("E-mail", f"mailto:?subject={quoted_title}&body={quoted_url}"),
        ("X", f"https://x.com/intent/post?url={quoted_url}&text={quoted_title}"),
        ("Facebook", f"https://www.facebook.com/sharer/sharer.php?u={quoted_url}"),
        ("LinkedIn", f"https://www.linkedin.com/sharing/share-offsite/?url={quoted_url}"),
        ("Telegram", f"https://t.me/share/url?url={quoted_url}&text={quoted_title}"),
        ("WhatsApp", f"https://wa.me/?text={quote(article.title + ' ' + url, safe='')}"),
    ]
    return format_html(
        '<nav class="share" aria-label="{}"><span class="share__label">{}\u00a0:</span>'
        "<ul>{}</ul></nav>",
        SHARE_LABEL,
        _("Partager"),
        format_html_join(
            "",
            '<li><a href="{}" rel="noopener noreferrer nofollow" target="_blank">{}</a></li>',
            ((href, name) for name, href in links),
        ),
    )


@register.simple_tag
def article_json_ld(article):
    """schema.org NewsArticle for search engines, as a <script> element."""
    url = f"{settings.SITE_URL}{article.get_absolute_url()}"
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title[:110],
        "description": article.standfirst,
        "datePublished": article.published_at.isoformat() if article.published_at else None,
        "dateModified": article.updated_at.isoformat(),
        "author": [
            {
                "@type": "Person",
                "name": author.name,
                "url": f"{settings.SITE_URL}{author.get_absolute_url()}",
            }
            for author in article.authors.all()
        ],
        "publisher": {
            "@type": "Organization",
            "name": settings.SITE_NAME,
            "logo": {
                "@type": "ImageObject",
                "url": f"{settings.SITE_URL}{static('images/logo.png')}",
            },
        },
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "articleSection": article.section.name,
        "keywords": [tag.name for tag in article.tags.all()],
        "inLanguage": "fr",
    }
    image = hero_image_url(article)
    if image:
        data["image"] = [image]
    # Stored text is normalised on save, but a row written around the models may
    # hold control characters: JSON would carry them escaped, search engines
    # would read them. They go, as from the rest of the page.
    encoded = json.dumps(clean_values(data, html_safe), ensure_ascii=False).replace("<", "\\u003c")
    return mark_safe(f'<script type="application/ld+json">{encoded}</script>')


DEFAULT_DESCRIPTION = gettext_lazy(
    "L’actualité de l’Asie centrale en français : Kazakhstan, Kirghizistan, Ouzbékistan, "
    "Tadjikistan, Turkménistan."
)
PAGE_META = (
    '<meta name="description" content="{description}">\n'
    '<link rel="canonical" href="{canonical}">\n'
    '<meta property="og:site_name" content="{site_name}">\n'
    '<meta property="og:locale" content="fr_FR">\n'
    '<meta property="og:type" content="{kind}">\n'
    '<meta property="og:title" content="{title}">\n'
    '<meta property="og:description" content="{description}">\n'
    '<meta property="og:url" content="{canonical}">\n'
    '<meta property="og:image" content="{image}">\n'
    '<meta name="twitter:card" content="summary_large_image">\n'
    '<meta name="twitter:title" content="{title}">\n'
    '<meta name="twitter:description" content="{description}">\n'
    '<meta name="twitter:image" content="{image}">'
)


@register.simple_tag(takes_context=True)
def page_meta(context, title=None, description=None, image=None, kind="website"):
    """Description, canonical address, Open Graph and Twitter card of a page."""
    description = " ".join(str(description or DEFAULT_DESCRIPTION).split())
    if len(description) > 300:
        description = description[:299] + "…"
    return format_html(
        PAGE_META,
        description=description,
        canonical=canonical_url(context),
        site_name=settings.SITE_NAME,
        kind=kind,
        title=title or settings.SITE_NAME,
        image=image or f"{settings.SITE_URL}{static('images/og-default.png')}",
    )


@register.simple_tag
def hero_image_url(article):
    """Absolute address of the largest copy of the hero image, or ""."""
    jpegs = make_renditions(article).get("jpeg") or []
    return absolute_url(f"{settings.MEDIA_URL}{jpegs[-1][1]}") if jpegs else ""


@register.filter
def iso(value):
    """Machine-readable date for <time datetime>, to the second."""
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""


LEAD_SIZES = "(min-width: 72rem) 42rem, (min-width: 44rem) 60vw, 100vw"
CARD_SIZES = "(min-width: 72rem) 17rem, (min-width: 44rem) 30vw, 100vw"


@register.simple_tag
def article_card(
    article,
    heading_level=2,
    show_section=False,
    lead=False,
    compact=False,
    short=False,
    loading="lazy",
):
    """An article card for listings. Built in Python: pages show up to thirty of
    them, and the template engine would cost more than the rest of the page.

    ``lead`` for the big card that opens the home page, ``compact`` for a title
    line without image or standfirst, ``short`` without the standfirst."""
    url = _e(article.get_absolute_url())
    classes = "card" + (" card--lead" if lead else "") + (" card--compact" if compact else "")
    image = ""
    if article.hero_image and not compact:
        picture = hero_picture(
            article,
            sizes=LEAD_SIZES if lead else CARD_SIZES,
            loading="eager" if lead else loading,
            alt="",
        )
        image = (
            f'<a class="card__image" href="{url}" tabindex="-1" aria-hidden="true">{picture}</a>'
        )
    kicker = ""
    if show_section:
        section = article.section
        kicker = (
            f'<p class="kicker"><a href="{_e(section.get_absolute_url())}">'
            f"{_e(section.name)}</a></p>"
        )
    standfirst = ""
    if not (compact or short):
        standfirst = f'<p class="card__standfirst">{_e(french_spacing(article.standfirst))}</p>'
    level = int(heading_level)
    return mark_safe(  # noqa: S308 (every value escaped)
        f'<article class="{classes}">{image}<div class="card__body">{kicker}'
        f'<h{level} class="card__title"><a href="{url}">{_e(french_spacing(article.title))}</a>'
        f"</h{level}>{standfirst}"
        f'<p class="meta"><time datetime="{_e(iso(article.published_at))}">'
        f"{_e(french_date(article.published_at))}</time></p></div></article>"
    )


@register.inclusion_tag("includes/pagination.html")
def pagination(page, **kept):
    """Links to the pages before and after ``page``, carrying the page number and
    the parameters given here (the search passes its query), nothing else.

    {% querystring %} alone would copy all of request.GET: utm_… and other
    parameters when the page cache is bypassed (staff), ``source`` or ``p``
    when it is not. Links on a cached page must name only what that page
    reads, so that following them lands on the one cached copy."""
    params = QueryDict(mutable=True)
    for name, value in kept.items():
        if value:
            params[name] = value
    return {"page": page, "params": params}
