import enum
import re
from functools import lru_cache
from itertools import groupby
from operator import attrgetter

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from newsroom.views import client_ip, posted_from_this_site

from .models import (
    Article,
    ArticleRedirect,
    PreviewLink,
    PublishedListing,
    ReadCount,
    SearchResults,
    cached_spelling_variants,
    find_by_slug,
    home_cards,
    published_article,
    related_cards,
)
from .plaintext import normalize_line
from .search import MAX_QUERY_LENGTH, SEARCH_CONFIG, highlight, query_text, query_words
from .uploads import check_size, normalize_upload

TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
LATEST_COUNT = 6
PER_SECTION_COUNT = 4
SEARCH_PER_PAGE = 10


@require_safe
def home(request):
    """The lead story (the latest « à la une », else the latest article), the
    latest articles, and a block per section."""
    latest, lead, blocks = home_cards(LATEST_COUNT + 1, PER_SECTION_COUNT)
    # The newest « à la une » article, else the newest article.
    lead = lead or (latest[0] if latest else None)
    latest = [article for article in latest if article != lead][:LATEST_COUNT]
    return render(
        request,
        "articles/home.html",
        {
            "lead": lead,
            "latest": latest,
            "section_blocks": [
                (section, list(articles))
                for section, articles in groupby(blocks, key=attrgetter("section"))
            ],
        },
    )


def _found(instance):
    if instance is None:
        raise Http404  # the 404 page says it in French
    return instance


def _paginate(request, queryset, per_page=None):
    paginator = Paginator(queryset, per_page or settings.ARTICLES_PER_PAGE)
    return paginator.get_page(request.GET.get("page"))


@require_safe
def section_detail(request, slug):
    section = _found(find_by_slug("section", slug))
    articles = PublishedListing("section", section.pk, keep_count=True)
    return render(
        request,
        "articles/section_detail.html",
        {"section": section, "page": _paginate(request, articles), "current_section_slug": slug},
    )


@require_safe
def author_detail(request, slug):
    author = _found(find_by_slug("author", slug))
    articles = PublishedListing("author", author.pk, keep_count=True)
    return render(
        request,
        "articles/author_detail.html",
        {"author": author, "page": _paginate(request, articles)},
    )


@require_safe
def tag_detail(request, slug):
    tag = _found(find_by_slug("tag", slug))
    articles = PublishedListing("tag", tag.pk, keep_count=True)
    return render(
        request, "articles/tag_detail.html", {"tag": tag, "page": _paginate(request, articles)}
    )


@require_safe
def search(request):
    """French full-text search over published articles. Any input gives an
    ordinary page: operators and punctuation are ignored, long queries cut."""
    # Cut before normalising (a long query costs nothing), and after (NFC may
    # lengthen it).
    raw_query = normalize_line(request.GET.get("q", "")[:MAX_QUERY_LENGTH])
    raw_query = raw_query[:MAX_QUERY_LENGTH].strip()
    words = query_words(raw_query)
    variants = cached_spelling_variants() if words else {}
    text = query_text(words, variants)
    page = None
    close = ()
    if text is not None:
        asked = request.GET.get("page")
        results = SearchResults(text, SEARCH_PER_PAGE, page=asked)
        page = Paginator(results, SEARCH_PER_PAGE).get_page(asked)
        if page.object_list:
            stems = search_lexemes(words, variants)
            for article in page.object_list:
                article.excerpt = highlight(excerpt_source(article), stems)
        else:
            # No article has the words: perhaps a typo (« Tachkient »).
            close = (
                Article.objects.published()
                .for_listing()
                .close_titles(" ".join(words), SEARCH_PER_PAGE)
            )
    return render(
        request,
        "articles/search.html",
        {
            "query": raw_query,
            "page": page,
            "close": close,
            "capped": page is not None and page.paginator.object_list.capped,
        },
    )


def excerpt_source(article):
    """The text an excerpt is cut from: the standfirst, then the body, with
    single spaces between words, as highlight() reads them. The body's text is
    stored that way (html_to_text); only the standfirst, typed with French
    non-breaking spaces and line breaks, is spaced here. Handing highlight()
    the whole text to space again cost a third of its time."""
    standfirst = " ".join(article.standfirst.split())
    return " ".join(part for part in (standfirst, article.body_text) if part)


def search_lexemes(words, variants):
    """The lexemes PostgreSQL makes of the query words and their variants, to
    highlight matching words in excerpts."""
    terms = set(words)
    for word in words:
        terms |= variants.get(word, set())
    return _lexemes_of(" ".join(sorted(terms)))


@lru_cache(maxsize=1024)
def _lexemes_of(text):
    # The stemmer's answer depends only on the words and the text search
    # configuration (a migration): each worker remembers its last answers
    # instead of asking PostgreSQL on every search.
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_tsvector(%s, %s)::text", [SEARCH_CONFIG, text])
        vector = cursor.fetchone()[0]
    return re.findall(r"'((?:[^']|'')+)'", vector)


class Preview(enum.StrEnum):
    """An article page shown to someone other than readers: the newsroom (with
    the article's status) or whoever holds a shareable preview link."""

    STAFF = "staff"
    SHARED = "shared"

    # The article template compares against members: it must not call the class.
    do_not_call_in_templates = enum.nonmember(True)


def can_preview(user):
    return user.is_active and user.is_staff and user.has_perm("articles.change_article")


def render_article(request, article, preview=None):
    """The article page. ``preview`` is None for readers, else a Preview."""
    if article.original_language:
        # Only a translation reads its translators (the credit and the JSON-LD
        # share this one query): other articles' pages make no query for them.
        prefetch_related_objects([article], "translators")
    response = render(
        request,
        "articles/article_detail.html",
        {
            "article": article,
            "preview": preview,
            "Preview": Preview,
            "corrections": article.corrections.all() if article.correction_count else (),
            "related": related_cards(article),
        },
    )
    if preview:
        add_never_cache_headers(response)
        response["X-Robots-Tag"] = "noindex, nofollow"
        response["Referrer-Policy"] = "no-referrer"
    return response


def render_article_preview(request, article):
    return render_article(request, article, preview=Preview.STAFF)


@require_safe
def article_detail(request, slug):
    """A published article. An old address of a published article redirects
    permanently; staff who may change articles also see drafts and scheduled
    articles, as previews."""
    article = published_article(slug)
    if article is None:
        moved = (
            ArticleRedirect.objects.filter(old_slug=slug, article__in=Article.objects.published())
            .select_related("article")
            .first()
        )
        if moved is not None:
            return redirect(moved.article, permanent=True)
        if not can_preview(request.user):
            raise Http404(_("Aucun article ne correspond à cette adresse."))
        articles = Article.objects.select_related("section").prefetch_related("authors", "tags")
        return render_article_preview(request, get_object_or_404(articles, slug=slug))
    return render_article(request, article)


@require_safe
def shared_preview(request, token):
    """An unpublished article shown to someone without an account, through a
    secret link an editor can revoke. It ends when the article is published:
    while the article is public it leads to the public page, and it never shows
    the article again, even after « Dépublier »."""
    link = None
    if TOKEN_RE.fullmatch(token):  # a NUL or a made-up shape is simply unknown
        link = PreviewLink.objects.filter(token=token).select_related("article__section").first()
    if link is not None and link.article.is_public:
        return redirect(link.article)
    if link is None or link.has_ended:
        response = render(request, "articles/preview_link_invalid.html", status=404)
        add_never_cache_headers(response)
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response
    return render_article(request, link.article, preview=Preview.SHARED)


# Crawlers, previews and scripted browsers: their visits are not readings.
BOTS = re.compile(
    r"bot|crawl|spider|slurp|preview|fetch|scan|monitor|headless|lighthouse|python|curl|wget"
    r"|java/|go-http|httpclient|facebookexternalhit|embedly|quora|whatsapp|telegram",
    re.IGNORECASE,
)


@csrf_exempt  # checked by posted_from_this_site(): the pages sending it set no cookie
@require_POST
def record_read(request, pk):
    """The reading beacon of article pages (static/js/read.js): one more
    reading of the article this hour, unless the visitor is a bot or the post
    comes from elsewhere. Nothing about the reader is kept: no cookie is read
    or set, no address or browser stored. Always an empty answer."""
    agent = request.headers.get("User-Agent", "")
    readable = pk < 2**63 and agent and not BOTS.search(agent)  # ids are bigint
    if readable and posted_from_this_site(request) and _first_reading(request, pk):
        ReadCount.objects.record(pk)
    response = HttpResponse(status=204)
    add_never_cache_headers(response)
    return response


def _first_reading(request, pk):
    """Whether this is the first reading of the article from this address in
    READ_REPEAT_SECONDS: reloads, and a script posting in a loop, count once.
    What is remembered, in the cache only and for that long, is a keyed hash of
    the address and the article, under a key that changes every day: it names
    no one and links no two days."""
    day = timezone.now().date().isoformat()
    digest = salted_hmac(f"reading-{day}", f"{client_ip(request)}|{pk}").hexdigest()[:32]
    return cache.add(f"reading:{digest}", 1, settings.READ_REPEAT_SECONDS)


@login_required
@require_POST
def editor_image_upload(request):
    """Image upload for CKEditor (XHR, CSRF enforced). Only staff who may write
    articles; only real images, re-encoded and named after their real format;
    a refused file stores nothing."""
    user = request.user
    if not (
        user.is_staff
        and (user.has_perm("articles.add_article") or user.has_perm("articles.change_article"))
    ):
        raise PermissionDenied
    upload = request.FILES.get("upload")
    if upload is None:
        return _upload_error(_("Aucun fichier n’a été reçu."))
    try:
        check_size(upload.size)
        image = normalize_upload(upload.read())
    except ValidationError as error:
        return _upload_error(" ".join(error.messages))
    today = timezone.localdate()
    name = default_storage.save(
        f"{settings.CKEDITOR_UPLOAD_PATH}{today:%Y/%m}/{image.name}", image
    )
    return JsonResponse(
        {"uploaded": 1, "fileName": name.rsplit("/", 1)[-1], "url": default_storage.url(name)}
    )


def _upload_error(message):
    # CKEditor 4 reads {"uploaded": 0, "error": {"message": ...}} and shows it.
    # It shows the message only on a 200 answer.
    return JsonResponse({"uploaded": 0, "error": {"message": message}})
