import functools
import math
import re
import secrets
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.postgres.indexes import GistIndex, OpClass
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connections, models, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.base import ModelState
from django.db.models.signals import post_init
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from newsroom import prepared
from newsroom.links import path_of
from newsroom.pagecache import clock_cached, clock_cached_for, limit_page_lifetime

from .fields import (
    PlainCharField,
    PlainTextField,
    RichTextField,
    SafeImageField,
    WebAddressField,
)
from .sanitizer import html_to_text
from .search import (
    SEARCH_CONFIG,
    fold,
    title_close_to,
    title_distance_to,
    title_key,
)

# What an article card shows: listings load these and nothing more (and the
# section's name and address, see SECTION_COLUMNS).
CARD_COLUMNS = [
    "id",
    "title",
    "slug",
    "standfirst",
    "section_id",
    "status",
    "published_at",
    "updated_at",
    "is_featured",
    "hero_image",
    "hero_image_width",
    "hero_image_height",
    "hero_image_alt",
    "hero_focal_x",
    "hero_focal_y",
    "hero_renditions",
]
SECTION_COLUMNS = ["name", "slug"]
WORDS_PER_MINUTE = 230


SEARCH_RANKED = 200
# « Tachkient » is 0.58 like « Tachkent », « elektions » 0.54 like « Élections ».
CLOSE_TITLE_SIMILARITY = 0.5


def stamped_by(verbose_name, editable=False):
    """A reference to the staff member who did something; kept if they leave."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=verbose_name,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=editable,
        related_name="+",
    )


def new_preview_token():
    return secrets.token_urlsafe(32)


class Section(models.Model):
    name = PlainCharField(_("nom"), max_length=100)
    slug = models.SlugField(
        _("identifiant d’URL"),
        max_length=100,
        unique=True,
        help_text=_("La fin de l’adresse de la rubrique : lettres, chiffres et tirets."),
    )
    description = PlainTextField(
        _("description"),
        typography=True,
        blank=True,
        help_text=_("Une phrase ou deux, affichées en tête de la page de la rubrique."),
    )
    position = models.PositiveSmallIntegerField(
        _("position"),
        default=0,
        help_text=_("Ordre dans le menu : les plus petits nombres viennent en premier."),
    )

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("rubrique")
        verbose_name_plural = _("rubriques")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return path_of("articles:section-detail", self.slug)


class AuthorQuerySet(models.QuerySet):
    def public(self, now=None):
        """Authors who sign or translate a public article (at ``now``): an author
        page is reviewed with the first article an editor publishes under that
        credit, like the article."""
        published = Article.objects.published(now=now)
        signed = published.filter(authors=models.OuterRef("pk"))
        translated = published.filter(translators=models.OuterRef("pk"))
        return self.filter(models.Exists(signed) | models.Exists(translated))


class Author(models.Model):
    name = PlainCharField(_("nom"), max_length=150)
    slug = models.SlugField(_("identifiant d’URL"), max_length=150, unique=True)
    bio = PlainTextField(
        _("présentation"),
        typography=True,
        blank=True,
        help_text=_("Quelques lignes sur l’auteur, publiques."),
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("compte"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="author_profile",
        help_text=_(
            "Le compte d’administration de cette personne, s’il existe. Une signature "
            "n’en a pas besoin (pigiste, invité). Seuls les rédacteurs en chef le relient."
        ),
    )

    objects = AuthorQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("auteur")
        verbose_name_plural = _("auteurs")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return path_of("articles:author-detail", self.slug)


class Tag(models.Model):
    class Kind(models.TextChoices):
        COUNTRY = "country", _("Pays")
        THEME = "theme", _("Thème")

    name = PlainCharField(_("nom"), max_length=100, unique=True)
    slug = models.SlugField(_("identifiant d’URL"), max_length=100, unique=True)
    kind = models.CharField(
        _("type"),
        max_length=20,
        choices=Kind.choices,
        default=Kind.THEME,
        help_text=_("Un pays de la région, ou un thème transversal."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("mot-clé")
        verbose_name_plural = _("mots-clés")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return path_of("articles:tag-detail", self.slug)


class ArticleQuerySet(models.QuerySet):
    def published(self, now=None):
        """The one visibility rule: published, and the publication time has come
        (``now`` unless told otherwise)."""
        return self.filter(
            status=Article.Status.PUBLISHED, published_at__lte=now or timezone.now()
        )

    def scheduled(self):
        """Published with a publication time still to come: not public yet."""
        return self.filter(status=Article.Status.PUBLISHED, published_at__gt=timezone.now())

    def in_section(self, section):
        return self.filter(section=section)

    def credited_to(self, author):
        """Articles ``author`` signs or translates, each once."""
        signed = Article.authors.through.objects.filter(article=OuterRef("pk"), author=author)
        translated = Article.translators.through.objects.filter(
            article=OuterRef("pk"), author=author
        )
        return self.filter(Exists(signed) | Exists(translated))

    def for_listing(self, *also):
        """Only what article cards show (and the fields named in ``also``), with
        the section's name and address."""
        return self.select_related("section").only(
            *CARD_COLUMNS, *(f"section__{column}" for column in SECTION_COLUMNS), *also
        )

    def _where_sql(self):
        """This queryset's conditions as SQL, for the hand-written queries below:
        they keep the one visibility rule, published()."""
        compiler = self.query.get_compiler(using=self.db)
        where_sql, where_params = compiler.compile(self.query.where)
        return where_sql or "TRUE", where_params

    def close_titles(self, text, limit):
        """A list of up to ``limit`` articles with title words close to ``text``
        (pg_trgm word similarity of at least CLOSE_TITLE_SIMILARITY), closest
        first. The test and the order both walk the trigram index."""
        articles = self.filter(title_close_to(text)).order_by(title_distance_to(text))
        with transaction.atomic(using=self.db), connections[self.db].cursor() as cursor:
            # The operator's threshold is a setting; LOCAL ends with the transaction.
            cursor.execute(
                "SET LOCAL pg_trgm.word_similarity_threshold = %s", [CLOSE_TITLE_SIMILARITY]
            )
            return list(articles[:limit])


def _section_columns(alias):
    """The section's columns for a hand-written query joined to it as ``alias``."""
    return ", ".join(f'{alias}."{column}" AS section_{column}' for column in SECTION_COLUMNS)


def _card_columns():
    """CARD_COLUMNS in the model's field order, the order from_db takes values in."""
    return [field.attname for field in _card_fields()]


@functools.cache
def _card_fields():
    return [field for field in Article._meta.concrete_fields if field.attname in CARD_COLUMNS]


_layouts = {}


def _layout(model, fields, connection, shared_json=False):
    """What making instances of ``model`` from rows holding ``fields`` needs,
    worked out once per set of fields: their attribute names, and (column
    index, converter, field) for those that need a converter, as the ORM
    applies them to the values a query returns. ``shared_json``: JSON values
    are decoded once per text and shared (_shared_json)."""
    key = (connection.vendor, model, tuple(fields), shared_json)
    layout = _layouts.get(key)
    if layout is None:
        converters = [
            (
                index,
                _shared_json(converter)
                if shared_json and isinstance(field, models.JSONField)
                else converter,
                field,
            )
            for index, field in enumerate(fields)
            for converter in (
                connection.ops.get_db_converters(field.get_col(model._meta.db_table))
                + field.get_db_converters(connection)
            )
        ]
        layout = _layouts[key] = ([field.attname for field in fields], converters)
    return layout


SHARED_JSON_VALUES = 1024  # a card's hero_renditions: about 2 kB of text each


def _shared_json(converter):
    """``converter`` (JSONField's from_db_value), remembering its answers by
    the text PostgreSQL sent: a card's description of its image copies is the
    same text on the home page, a section and « Les plus lus » (measured in
    process: the home page's CPU went from 4.1 to 3.8 ms). The decoded value
    is shared by every card of that text: cards are read, never changed or
    saved."""
    decoded = {}

    def convert(value, expression, connection):
        if not isinstance(value, str):
            return converter(value, expression, connection)
        found = decoded.get(value)
        if found is None:
            found = converter(value, expression, connection)
            if len(decoded) >= SHARED_JSON_VALUES:
                decoded.clear()  # a new round: cheaper than tracking the oldest
            decoded[value] = found
        return found

    return convert


def _from_row(model, fields, values, db, connection, layout=None):
    """An instance of ``model`` from a row holding ``fields`` (in the model's
    field order), with the fields' converters applied as the ORM applies them,
    and in the state Model.from_db() leaves it: the loaded values in its
    ``__dict__`` (the fields not loaded are deferred, read on first use), not
    adding, from ``db``. Model.__init__ is not run: it walks every field of the
    model to set the few loaded (measured: 60 µs an article, twice what the
    rest of a card costs; a home page makes thirty). The post_init signal is
    sent as __init__ sends it: the image field's dimensions listen to it.
    ``layout``: _layout()'s answer, when the caller makes many rows of it."""
    attnames, converters = layout or _layout(model, fields, connection)
    values = list(values)
    for index, converter, field in converters:
        values[index] = converter(values[index], field, connection)
    instance = model.__new__(model)
    instance.__dict__.update(zip(attnames, values, strict=True))
    instance._state = state = ModelState()
    state.adding, state.db = False, db
    if post_init.has_listeners(model):
        post_init.send(sender=model, instance=instance)
    return instance


def _cards(db, sql, params):
    """The articles of a hand-written query that selects _card_columns() then
    _section_columns(), each with its section, as for_listing() would give
    them: made as the ORM makes them (_from_row), without RawQuerySet mapping
    columns to fields again at every query (that cost more than the query
    itself on article pages)."""
    connection = connections[db]
    with connection.cursor() as cursor:
        prepared.execute(connection, cursor, sql, params)
        return _cards_of(db, cursor.fetchall())


def _cards_of(db, rows, also=()):
    """The cards of ``rows`` (_card_columns(), the fields named in ``also``,
    then _section_columns(); any further columns are left to the caller)."""
    connection = connections[db]
    fields = [*_card_fields(), *(Article._meta.get_field(name) for name in also)]
    end = len(fields) + len(SECTION_COLUMNS)
    sections = {}  # one instance per section, as the cards only read them
    section_fields = [Section._meta.pk, *(Section._meta.get_field(c) for c in SECTION_COLUMNS)]
    layout = _layout(Article, fields, connection, shared_json=True)
    section_cache = Article._meta.get_field("section").set_cached_value
    articles = []
    for row in rows:
        article = _from_row(Article, fields, row[: len(fields)], db, connection, layout=layout)
        section = sections.get(article.section_id)
        if section is None:
            section_row = (article.section_id, *row[len(fields) : end])
            section = _from_row(Section, section_fields, section_row, db, connection)
            sections[article.section_id] = section
        # What article.section = section leaves (section_id is already the
        # section's), without the descriptor's checks at every card.
        section_cache(article, section)
        articles.append(article)
    return articles


# Stand-ins a query is compiled with once per process, replaced at each query
# (_bind): a moment no article is published at, an id no row has, a slug no
# address or search can carry (a NUL).
_COMPILED_NOW = datetime(1, 1, 2, tzinfo=UTC)
_COMPILED_ID = -2_147_483_001
_COMPILED_TEXT = "\x00compiled-text"
_COMPILED_STOP = -2_147_483_002  # where a listing's window ends


def _bind(params, pk=None, text=None, stop=None):
    """A compiled query's parameters with the stand-ins replaced: now, and the
    listing's object (its id) and window's end, or the slug looked up."""
    now, bound = timezone.now(), []
    for value in params:
        if value == _COMPILED_NOW:
            value = now
        elif value == _COMPILED_ID:
            value = pk
        elif value == _COMPILED_STOP:
            value = stop
        elif value == _COMPILED_TEXT:
            value = text
        bound.append(value)
    return bound


@functools.cache
def _compiled_published(db):
    return Article.objects.using(db).published(now=_COMPILED_NOW)._where_sql()


def _published_params(db):
    """The values of published()'s conditions (compiled once per process:
    _compiled_published) for now."""
    return _bind(_compiled_published(db)[1])


def home_cards(latest, per_section, db="default"):
    """The home page's cards, in one query: the ``latest`` latest published
    articles, the latest « à la une » one (None when there is none), and the
    ``per_section`` latest of each section, sections in menu order and
    articles newest first; what ``latest_cards(latest)``,
    ``latest_cards(1, featured=True)`` and, per section,
    ``published().in_section(…).for_listing()`` give. One round trip instead
    of three: each cost the web process and PostgreSQL more than the rows it
    read. Each section's part reads a few index entries, whatever the
    archive's size. SQL by hand for the same reason as related_cards."""
    (latest_sql, latest_params), _ = _compiled_listing(db, "latest")
    (featured_sql, featured_params), _ = _compiled_listing(db, "featured")
    # One moment for the three parts.
    bound = _bind([*latest_params, *featured_params, *_compiled_published(db)[1]])
    first, second = len(latest_params), len(latest_params) + len(featured_params)
    params = [
        *bound[:first],
        latest,
        0,
        *bound[first:second],
        1,
        0,
        *bound[second:],
        per_section,
    ]
    connection = connections[db]
    with connection.cursor() as cursor:
        prepared.execute(connection, cursor, _home_sql(db), params)
        rows = cursor.fetchall()
    parts = ([], [], [])
    for card, row in zip(_cards_of(db, rows), rows, strict=True):
        parts[row[-2]].append(card)
    return parts[0], next(iter(parts[1]), None), parts[2]


@functools.cache
def _home_sql(db):
    """home_cards()'s query: each part's rows with the part's number and their
    place in it, ordered by both (UNION ALL alone does not promise an order)."""
    (latest_sql, _), _ = _compiled_listing(db, "latest")
    (featured_sql, _), _ = _compiled_listing(db, "featured")
    where_sql = _compiled_published(db)[0]
    table, sections = Article._meta.db_table, Section._meta.db_table
    columns = ", ".join(f'"{table}"."{column}"' for column in _card_columns())
    newest = "ORDER BY listed.published_at DESC, listed.id DESC"
    return f"""
        SELECT listed.*, 0 AS part, row_number() OVER ({newest}) AS place
        FROM ({latest_sql}) listed
        UNION ALL
        SELECT listed.*, 1, row_number() OVER ({newest}) FROM ({featured_sql}) listed
        UNION ALL
        SELECT latest.*, {_section_columns("section")}, 2, row_number() OVER (
            ORDER BY section.position, section.name, section.id,
                latest.published_at DESC, latest.id DESC
        )
        FROM "{sections}" section
        CROSS JOIN LATERAL (
            SELECT {columns} FROM "{table}"
            WHERE {where_sql} AND "{table}".section_id = section.id
            ORDER BY "{table}".published_at DESC, "{table}".id DESC
            LIMIT %s
        ) latest
        ORDER BY part, place
    """  # noqa: S608 (no value is interpolated: only identifiers and compiled SQL)


def related_cards(article, count=4, candidates=200, db="default"):
    """Published articles sharing the most tags with ``article``, then its
    section's, newest first (the visibility rule is published()'s, compiled
    once: see _compiled_published). Only the ``candidates`` most recent eligible
    articles are ranked, so the work stays bounded however large the archive.

    Written in SQL: this runs on every article page, and building the same
    query with the ORM costs more CPU than the rest of the page's queries."""
    tag_ids = [tag.pk for tag in article.tags.all()]
    params = [
        tag_ids,
        *_published_params(db),
        article.pk,
        article.section_id,
        tag_ids,
        candidates,
        count,
    ]
    return _cards(db, _related_sql(db), params)


@functools.cache
def _related_sql(db):
    where_sql = _compiled_published(db)[0]
    table = Article._meta.db_table
    # Ranked on ids and dates only; the card columns of the few chosen are
    # read last (reading them for every candidate cost most of the query).
    # The candidates come from article_related_idx alone (section and tag ids
    # included): tag_ids is the column PostgreSQL keeps from the article-tag
    # links (migration 0025), not a model field.
    card_columns = ", ".join(f'chosen."{column}"' for column in _card_columns())
    return f"""
        SELECT {card_columns}, {_section_columns("section")} FROM (
            SELECT recent.id, recent.published_at, (
                SELECT count(*) FROM unnest(recent.tag_ids) tag WHERE tag = ANY(%s::bigint[])
            ) AS shared_tags
            FROM (
                SELECT "{table}".id, "{table}".published_at, "{table}".tag_ids FROM "{table}"
                WHERE {where_sql} AND "{table}".id <> %s AND (
                    "{table}".section_id = %s OR "{table}".tag_ids && %s::bigint[]
                )
                ORDER BY "{table}".published_at DESC
                LIMIT %s
            ) recent
            ORDER BY shared_tags DESC, recent.published_at DESC
            LIMIT %s
        ) ranked
        JOIN "{table}" chosen ON chosen.id = ranked.id
        JOIN "{Section._meta.db_table}" section ON section.id = chosen.section_id
        ORDER BY ranked.shared_tags DESC, ranked.published_at DESC
    """  # noqa: S608 (no value is interpolated: only identifiers and compiled SQL)


# The listings of published articles, from the QuerySet methods that say which
# articles they hold (compiled once per process, see PublishedListing); a tag's
# and an author's are read from the links (_linked_listing).
_LISTINGS = {
    "latest": lambda articles: articles,
    "featured": lambda articles: articles.filter(is_featured=True),
    "section": lambda articles: articles.in_section(_COMPILED_ID),
}


@functools.cache
def _compiled_listing(db, kind):
    if kind not in _LISTINGS:
        return _linked_listing(kind)
    articles = _LISTINGS[kind](Article.objects.using(db).published(now=_COMPILED_NOW))
    cards = articles.values_list(*_card_columns(), *(f"section__{c}" for c in SECTION_COLUMNS))
    page_sql, page_params = cards.query.sql_with_params()
    count_sql, count_params = articles.order_by().values("pk").query.sql_with_params()
    return (
        (f"{page_sql} LIMIT %s OFFSET %s", page_params),
        (f"SELECT count(*) FROM ({count_sql}) listing", count_params),  # noqa: S608
    )


def _linked_listing(kind):
    """A tag's or an author's listing (the articles they sign or translate),
    read from the links' ``public_from`` (migration 0027: the article's
    publication time when it is published, kept by PostgreSQL) and its index
    in the listings' order: a window reads as many index entries as it shows,
    and the count as many as it counts, where the ORM's query walked the
    newest articles until it had found enough of that tag and counted by
    walking them all. published() is the rule all the same: the links say
    published and public at ``now`` exactly when their article is
    (test_visibility.py and test_listing_links.py compare them)."""
    if kind not in ("tag", "author"):
        raise KeyError(kind)
    links = Article.tags.through._meta.db_table
    signed = Article.authors.through._meta.db_table
    translated = Article.translators.through._meta.db_table
    if kind == "tag":
        listed = f"""
            SELECT article_id, public_from FROM "{links}"
            WHERE tag_id = %s AND public_from <= %s
        """  # noqa: S608 (identifiers only)
        page_listed = listed
        page_params = count_params = [_COMPILED_ID, _COMPILED_NOW]
    else:  # signed, or translated and not also signed: each article once
        newest = "ORDER BY public_from DESC, article_id DESC LIMIT %s"
        signed_sql = f"""
            SELECT article_id, public_from FROM "{signed}"
            WHERE author_id = %s AND public_from <= %s
        """  # noqa: S608 (identifiers only)
        translated_sql = f"""
            SELECT article_id, public_from FROM "{translated}" translated
            WHERE author_id = %s AND public_from <= %s AND NOT EXISTS (
                SELECT FROM "{signed}" also_signed WHERE also_signed.article_id =
                translated.article_id AND also_signed.author_id = translated.author_id
            )
        """  # noqa: S608 (identifiers only)
        listed = f"{signed_sql} UNION ALL {translated_sql}"
        count_params = [_COMPILED_ID, _COMPILED_NOW, _COMPILED_ID, _COMPILED_NOW]
        # A window's end (offset + limit) bounds what each part reads: a
        # prolific author's page does not sort all their articles.
        page_params = [*count_params[:2], _COMPILED_STOP, *count_params[2:], _COMPILED_STOP]
        page_listed = f"({signed_sql} {newest}) UNION ALL ({translated_sql} {newest})"
    columns = ", ".join(f'chosen."{column}"' for column in _card_columns())
    page_sql = f"""
        SELECT {columns}, {_section_columns("section")} FROM (
            SELECT * FROM ({page_listed}) listed
            ORDER BY public_from DESC, article_id DESC LIMIT %s OFFSET %s
        ) listed
        JOIN "{Article._meta.db_table}" chosen ON chosen.id = listed.article_id
        JOIN "{Section._meta.db_table}" section ON section.id = chosen.section_id
        ORDER BY listed.public_from DESC, listed.article_id DESC
    """  # noqa: S608 (identifiers only)
    count_sql = f"SELECT count(*) FROM ({listed}) listed"  # noqa: S608
    return (page_sql, page_params), (count_sql, count_params)


def latest_cards(count, featured=False, db="default"):
    """The ``count`` latest published articles (« à la une » ones only if
    ``featured``), newest first, as cards with their sections: what
    ``Article.objects.published().for_listing()`` sliced gives (the home page
    asks for these at every rendering)."""
    return PublishedListing("featured" if featured else "latest", db=db)[0:count]


LISTING_COUNTS_CACHE_KEY = "articles:listing-counts"


class PublishedListing:
    """The published articles of a listing (``kind``: all, « à la une », a
    section's, a tag's or an author's, whose ``pk`` is given), newest first, as
    a Paginator pages them: count() and slices of cards, as
    ``Article.objects.published().in_section(…).for_listing()`` (or
    ``filter(tags=…)``, ``credited_to(…)``…) gives them.
    Their SQL is that QuerySet's, compiled by the ORM once per process with
    stand-ins for the moment and the object, which each query replaces: the
    pages a reader browses to the end of an archive are rarely in a cache,
    and building the two queries cost a third of such a page's CPU. A tag's
    and an author's are written by hand on the links (_linked_listing)."""

    def __init__(self, kind, pk=None, db="default", keep_count=False):
        self.db, self.kind, self.pk, self.keep_count = db, kind, pk, keep_count
        self.page_query, self.count_query = _compiled_listing(db, kind)

    def count(self):
        """How many articles the listing holds. With ``keep_count`` (the
        public pages), kept under the content clock (clock_cached_for): it is
        the same for every page of the listing until content changes, and
        counting reads every entry of the listing (a whole archive's walk for
        a country's tag)."""
        if self.keep_count:
            key = (self.db, self.kind, self.pk)
            return clock_cached_for(LISTING_COUNTS_CACHE_KEY, key, self._count, 3600)
        return self._count()

    def _count(self):
        sql, params = self.count_query
        connection = connections[self.db]
        with connection.cursor() as cursor:
            prepared.execute(connection, cursor, sql, _bind(params, self.pk))
            return cursor.fetchone()[0]

    def __getitem__(self, window):
        if not isinstance(window, slice) or window.step or not 0 <= window.start <= window.stop:
            raise TypeError("PublishedListing takes slices [start:stop] only.")
        sql, params = self.page_query
        limits = [window.stop - window.start, window.start]
        return _cards(self.db, sql, [*_bind(params, self.pk, stop=window.stop), *limits])


SEARCH_TABLE = "articles_article_search"


@functools.cache
def _search_sql():
    """The search's query: the matches of a tsquery among public articles, read
    from their search entries (migration 0029: each article's vector and
    publication time, kept by PostgreSQL), the ``SEARCH_RANKED`` most recent
    ranked, then one window of them, best first, as cards with their text,
    each row with the number of matches. The tsquery is written out twice (a
    value, not a join): PostgreSQL then knows its words when it plans, and
    walks the date index for a common word or asks the GIN index for a rare
    one. Parameters: configuration and text, twice; now; the ranked count;
    the window's limit and offset."""
    table, sections = Article._meta.db_table, Section._meta.db_table
    columns = ", ".join(f'chosen."{column}"' for column in [*_card_columns(), "body_text"])
    query = "to_tsquery(%s::regconfig, %s)"
    sql = f"""
        SELECT {columns}, {_section_columns("section")}, ranked.total FROM (
            SELECT matches.*, count(*) OVER () AS total FROM (
                SELECT entry.article_id AS id, entry.public_from AS published_at,
                    ts_rank(entry.vector, {query}) AS rank
                FROM "{SEARCH_TABLE}" entry
                WHERE entry.public_from <= %s AND entry.vector @@ {query}
                ORDER BY entry.public_from DESC, entry.article_id DESC
                LIMIT %s
            ) matches
            ORDER BY matches.rank DESC, matches.published_at DESC, matches.id DESC
            LIMIT %s OFFSET %s
        ) ranked
        JOIN "{table}" chosen ON chosen.id = ranked.id
        JOIN "{sections}" section ON section.id = chosen.section_id
        ORDER BY ranked.rank DESC, ranked.published_at DESC, ranked.id DESC
    """  # noqa: S608 (no value is interpolated: only identifiers)
    return sql


def _search_params(text, start, stop):
    """_search_sql's values: the tsquery ``text`` (search.query_text), now, and
    the window [start:stop] of the ranked matches."""
    query = [SEARCH_CONFIG, text]
    return [*query, timezone.now(), *query, SEARCH_RANKED, stop - start, start]


class SearchResults:
    """The published articles matching a tsquery (``text``, see
    search.query_text), best first, as the search pages them: count() and
    slices of cards with their ``body_text`` (for the excerpts).

    Only the ``SEARCH_RANKED`` most recent matches are ranked: news readers
    want recent articles, and ranking every match of a common word would not
    scale. With a common word PostgreSQL walks the date index and stops early;
    with a rare one it asks the GIN index. Either way the work is bounded.

    One query gives a page and the number of matches: count() reads the
    window of the page asked for (``page``, as the reader wrote it; the first
    when it is not a page number or lies past the end) and keeps it for the
    slice that follows. The query reads the search entries (_search_sql); it
    is written in SQL, once per process: building it with the ORM cost a
    third of a search's CPU. published() is the rule all the same: an entry is
    public at ``now`` exactly when its article is (test_search_entries.py
    compares them)."""

    def __init__(self, text, per_page, page=None, db="default"):
        self.text, self.per_page, self.db = text, per_page, db
        number = int(page) if re.fullmatch("[0-9]{1,9}", page or "") else 1
        number = number if 0 < number <= SEARCH_RANKED else 1
        self._asked = (number - 1) * per_page
        self._total, self._kept = None, None  # (start, cards) of the window read

    def count(self):
        if self._total is None:
            self._read(self._asked, self._asked + self.per_page)
            if self._total is None:  # past the end: the first window says how many
                self._read(0, self.per_page)
        return self._total

    @property
    def capped(self):
        """Whether older matches were left out of the ranking."""
        return self.count() >= SEARCH_RANKED

    def __getitem__(self, window):
        if not isinstance(window, slice) or window.step or not 0 <= window.start <= window.stop:
            raise TypeError("SearchResults takes slices [start:stop] only.")
        if self._kept is not None:
            start, cards = self._kept
            # The paginator may shorten the last page's window to the count.
            if window.start == start and window.stop <= start + self.per_page:
                return cards[: window.stop - start]
        return self._read(window.start, window.stop)

    def _read(self, start, stop):
        with connections[self.db].cursor() as cursor:
            cursor.execute(_search_sql(), _search_params(self.text, start, stop))
            rows = cursor.fetchall()
        if rows:
            self._total = rows[0][-1]
        elif start == 0:
            self._total = 0
        cards = _cards_of(self.db, rows, also=["body_text"])
        if stop - start == self.per_page:
            self._kept = (start, cards)
        return cards


# What the public pages look up by slug, as these QuerySets find it.
_BY_SLUG = {
    "section": lambda: Section.objects.all(),
    "tag": lambda: Tag.objects.all(),
    "author": lambda: Author.objects.public(now=_COMPILED_NOW),
}


@functools.cache
def _compiled_by_slug(db, kind):
    queryset = _BY_SLUG[kind]().using(db).filter(slug=_COMPILED_TEXT).order_by()
    model = queryset.model
    # No only() or defer(): the query selects every concrete field, in order.
    return model, list(model._meta.concrete_fields), queryset.query.sql_with_params()


def find_by_slug(kind, slug, db="default"):
    """The section, tag or public author (``kind``) at ``slug``, or None: what
    ``Section.objects.filter(slug=slug).first()`` (``Tag``, and
    ``Author.objects.public()``) gives, with the SQL that QuerySet compiles to,
    compiled once per process (see PublishedListing). An author's page asks
    whether the author signs a published article: building that query cost a
    quarter of the page."""
    model, fields, (sql, params) = _compiled_by_slug(db, kind)
    connection = connections[db]
    with connection.cursor() as cursor:
        prepared.execute(connection, cursor, sql, _bind(params, text=slug))
        row = cursor.fetchone()
    return None if row is None else _from_row(model, fields, row, db, connection)


def _as_prefetched(instance, name, objects):
    """``objects`` left on ``instance`` as prefetch_related(name) leaves them:
    ``instance.<name>.all()`` gives them without a query."""
    queryset = getattr(instance, name).get_queryset()
    queryset._result_cache = objects
    queryset._prefetch_done = True
    if not hasattr(instance, "_prefetched_objects_cache"):
        instance._prefetched_objects_cache = {}
    instance._prefetched_objects_cache[name] = queryset


def published_article(slug, db="default"):
    """The published article at ``slug`` (None if there is none), with its
    section, authors and tags, as ``Article.objects.select_related("section")
    .prefetch_related("authors", "tags").published().get(slug=slug)`` gives
    it, in the same three queries. Written in SQL because the article page is
    where an uncached reader lands: building those three queries with the ORM
    cost more CPU than the rest of the page's work besides its template. The
    visibility rule is published()'s own, compiled (_compiled_published)."""
    connection = connections[db]
    article_fields, section_fields, sql, credits = _published_article_sql(db)
    with connection.cursor() as cursor:
        prepared.execute(connection, cursor, sql, [*_published_params(db), slug])
        row = cursor.fetchone()
        if row is None:
            return None
        count = len(article_fields)
        article = _from_row(Article, article_fields, row[:count], db, connection)
        article.section = _from_row(Section, section_fields, row[count:], db, connection)
        for name, model, related, related_sql in credits:
            prepared.execute(connection, cursor, related_sql, [article.pk])
            objects = [
                _from_row(model, related, values, db, connection) for values in cursor.fetchall()
            ]
            _as_prefetched(article, name, objects)
    return article


@functools.cache
def _published_article_sql(db):
    """published_article's statements, written once per process: (article
    fields, section fields, the article's SQL, and (name, model, fields, SQL)
    for its authors and tags)."""
    article_fields = list(Article._meta.concrete_fields)
    section_fields = list(Section._meta.concrete_fields)
    table, sections = Article._meta.db_table, Section._meta.db_table
    columns = [f'"{table}"."{field.column}"' for field in article_fields]
    columns += [f'section."{field.column}"' for field in section_fields]
    sql = f"""SELECT {", ".join(columns)} FROM "{table}"
        JOIN "{sections}" section ON section.id = "{table}".section_id
        WHERE {_compiled_published(db)[0]} AND "{table}".slug = %s"""  # noqa: S608
    credits = []
    for name, model in (("authors", Author), ("tags", Tag)):
        through = Article._meta.get_field(name).remote_field.through
        related = list(model._meta.concrete_fields)
        target = through._meta.get_field(model._meta.model_name).column
        source = through._meta.get_field("article").column
        related_sql = f"""SELECT {", ".join(f'related."{field.column}"' for field in related)}
            FROM "{model._meta.db_table}" related
            JOIN "{through._meta.db_table}" link ON link."{target}" = related.id
            WHERE link."{source}" = %s ORDER BY related.name, related.id"""  # noqa: S608
        credits.append((name, model, related, related_sql))
    return article_fields, section_fields, sql, credits


class OriginalLanguage(models.TextChoices):
    """The languages the newsroom translates from. Values are ISO 639 codes, as
    schema.org's inLanguage takes them (except OTHER)."""

    RUSSIAN = "ru", _("russe")
    KAZAKH = "kk", _("kazakh")
    KYRGYZ = "ky", _("kirghiz")
    UZBEK = "uz", _("ouzbek")
    TAJIK = "tg", _("tadjik")
    TURKMEN = "tk", _("turkmène")
    KARAKALPAK = "kaa", _("karakalpak")
    UYGHUR = "ug", _("ouïghour")
    PERSIAN = "fa", _("persan")
    TURKISH = "tr", _("turc")
    CHINESE = "zh", _("chinois")
    ENGLISH = "en", _("anglais")
    OTHER = "other", _("autre langue")


# How the article page introduces a translation: French elides « de » before a
# vowel, so each language has its phrase.
TRANSLATED_FROM = {
    OriginalLanguage.RUSSIAN: _("Traduit du russe"),
    OriginalLanguage.KAZAKH: _("Traduit du kazakh"),
    OriginalLanguage.KYRGYZ: _("Traduit du kirghiz"),
    OriginalLanguage.UZBEK: _("Traduit de l’ouzbek"),
    OriginalLanguage.TAJIK: _("Traduit du tadjik"),
    OriginalLanguage.TURKMEN: _("Traduit du turkmène"),
    OriginalLanguage.KARAKALPAK: _("Traduit du karakalpak"),
    OriginalLanguage.UYGHUR: _("Traduit de l’ouïghour"),
    OriginalLanguage.PERSIAN: _("Traduit du persan"),
    OriginalLanguage.TURKISH: _("Traduit du turc"),
    OriginalLanguage.CHINESE: _("Traduit du chinois"),
    OriginalLanguage.ENGLISH: _("Traduit de l’anglais"),
    OriginalLanguage.OTHER: _("Traduit d’une autre langue"),
}


class ArticleManager(models.Manager.from_queryset(ArticleQuerySet)):
    """Article.objects: the QuerySet's methods (published(), for_listing()…)."""


class Article(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Brouillon")
        REVIEW = "review", _("En relecture")
        PUBLISHED = "published", _("Publié")

    title = PlainCharField(_("titre"), max_length=200, typography=True)
    slug = models.SlugField(
        _("identifiant d’URL"),
        max_length=200,
        unique=True,
        help_text=_("La fin de l’adresse de l’article, proposée d’après le titre."),
    )
    standfirst = PlainTextField(
        _("chapô"),
        typography=True,
        help_text=_("Un paragraphe qui résume l’article, en texte simple, sous le titre."),
    )
    body = RichTextField(_("texte"), blank=True)
    hero_image = SafeImageField(
        _("image principale"),
        upload_to="articles/%Y/%m/",
        width_field="hero_image_width",
        height_field="hero_image_height",
        renditions_field="hero_renditions",
        focal_point_fields=("hero_focal_x", "hero_focal_y"),
        blank=True,
        help_text=_("JPEG, PNG, WebP ou GIF. Affichée en tête de l’article et dans les listes."),
    )
    hero_image_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    hero_image_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    hero_focal_x = models.FloatField(
        _("point d’intérêt (horizontal)"),
        default=0.5,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("De 0 (bord gauche) à 1 (bord droit) : les recadrages le gardent."),
    )
    hero_focal_y = models.FloatField(
        _("point d’intérêt (vertical)"),
        default=0.5,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("De 0 (haut) à 1 (bas) : les recadrages le gardent."),
    )
    hero_image_alt = PlainCharField(
        _("texte alternatif de l’image"),
        max_length=300,
        blank=True,
        help_text=_("Ce que montre l’image, pour les lecteurs qui ne la voient pas."),
    )
    hero_image_caption = PlainCharField(
        _("légende"),
        typography=True,
        max_length=300,
        blank=True,
        help_text=_("Affichée sous l’image : nommez les personnes et le lieu."),
    )
    hero_image_credit = PlainCharField(
        _("crédit"), max_length=150, blank=True, help_text=_("Photographe ou agence.")
    )
    section = models.ForeignKey(
        Section, verbose_name=_("rubrique"), on_delete=models.PROTECT, related_name="articles"
    )
    authors = models.ManyToManyField(
        Author, verbose_name=_("auteurs"), related_name="articles", blank=True
    )
    tags = models.ManyToManyField(
        Tag,
        verbose_name=_("mots-clés"),
        related_name="articles",
        blank=True,
        help_text=_("Pays et thèmes de l’article : ils relient les articles entre eux."),
    )
    original_language = models.CharField(
        _("langue originale"),
        max_length=8,
        choices=OriginalLanguage.choices,
        blank=True,
        help_text=_(
            "Pour un article traduit : la langue dans laquelle il a été écrit. La page "
            "indique « Traduit du russe par… ». Vide : écrit en français."
        ),
    )
    original_title = PlainCharField(
        _("titre original"),
        max_length=300,
        blank=True,
        help_text=_("Le titre de l’article original, dans sa langue."),
    )
    original_url = WebAddressField(
        _("adresse de l’original"),
        max_length=500,
        blank=True,
        help_text=_("Le lien vers l’article original, s’il est en ligne : la page le donne."),
    )
    translators = models.ManyToManyField(
        Author,
        verbose_name=_("traducteurs"),
        related_name="translations",
        blank=True,
        help_text=_(
            "Les personnes qui ont traduit l’article, choisies comme les signatures "
            "(avec ou sans compte)."
        ),
    )
    is_featured = models.BooleanField(
        _("à la une"),
        default=False,
        help_text=_(
            "L’article le plus récent « à la une » ouvre la page d’accueil (rédacteurs en chef)."
        ),
    )
    status = models.CharField(
        _("statut"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    published_at = models.DateTimeField(
        _("date de publication"),
        null=True,
        blank=True,
        db_index=True,
        help_text=_(
            "Vide : l’heure de la publication. Dans le futur : l’article devient public "
            "à cette heure-là."
        ),
    )
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)
    created_by = stamped_by(_("créé par"))
    updated_by = stamped_by(_("modifié par"))
    # Incremented by every save: a form that loaded an older version is stale.
    version = models.PositiveIntegerField(_("version"), default=0, editable=False)
    # Derived from the body on every save (derive_text): search excerpts
    # read it instead of parsing HTML for every result.
    body_text = models.TextField(_("texte brut"), blank=True, default="", editable=False)
    word_count = models.PositiveIntegerField(_("nombre de mots"), default=0, editable=False)
    # Kept by Correction: article pages look corrections up only when there are some.
    correction_count = models.PositiveIntegerField(default=0, editable=False)
    # The hero image's resized copies, made by hero_image when it is saved
    # (renditions.py); declared after it, so that the same statement writes them.
    hero_renditions = models.JSONField(default=dict, blank=True, editable=False)

    objects = ArticleManager()

    class Meta:
        # Newest first everywhere: listings, feeds and Django's latest()/earliest().
        ordering = ["-published_at", "-pk"]
        get_latest_by = ["published_at", "pk"]
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        indexes = [
            models.Index(fields=["status", "-published_at"], name="article_public_idx"),
            models.Index(
                fields=["section", "status", "-published_at"], name="article_section_idx"
            ),
            # The home page's lead: few articles are « à la une », find the latest fast.
            models.Index(
                fields=["-published_at"],
                condition=Q(is_featured=True),
                name="article_featured_idx",
            ),
            # Titles close to a misspelt query (search.similar_titles).
            GistIndex(OpClass(title_key(), name="gist_trgm_ops"), name="article_title_trgm_idx"),
        ]
        permissions = [
            ("publish_article", _("Peut publier, programmer et dépublier les articles")),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        if self.status == self.Status.PUBLISHED and self.published_at is None:
            self.published_at = timezone.now()
        self.version += 1
        update_fields = kwargs.get("update_fields")
        if update_fields is None:
            self.derive_text()
        else:
            # A partial save derives the text only from a body it writes: this
            # instance's copy of the others may be older than the database's.
            derived = set()
            if {"body", "standfirst"} & set(update_fields):
                self.derive_text()
                derived = {"body_text", "word_count"}
            if {"hero_image", "hero_focal_x", "hero_focal_y"} & set(update_fields):
                # The image field makes the copies of the image and focal point.
                derived |= {"hero_image", "hero_focal_x", "hero_focal_y", "hero_renditions"}
            kwargs["update_fields"] = {*update_fields, *derived, "version", "updated_at"}
        previous = None
        if self.pk:
            previous = Article.objects.filter(pk=self.pk).values("slug", "status").first()
        super().save(*args, **kwargs)
        if previous and previous["slug"] != self.slug:
            self._keep_old_address(previous)
        self._end_preview_links_at_publication()

    def get_absolute_url(self):
        return path_of("articles:article-detail", self.slug)

    def derive_text(self):
        """The body's plain text and the article's word count, from what was written."""
        self.body_text = html_to_text(self.body)
        self.word_count = len((self.standfirst or "").split()) + len(self.body_text.split())

    def _keep_old_address(self, previous):
        # Readers and search engines may hold the old address of a published
        # article: it keeps working, as a permanent redirect.
        ArticleRedirect.objects.filter(old_slug=self.slug).delete()
        if previous["status"] == self.Status.PUBLISHED:
            ArticleRedirect.objects.update_or_create(
                old_slug=previous["slug"], defaults={"article": self}
            )

    def _end_preview_links_at_publication(self):
        # A preview link shows an article before it is public, never after: it
        # ends at the publication time, for good, even if the article is later
        # unpublished. A schedule moved or cancelled before that time moves or
        # cancels the end too.
        pending = self.preview_links.filter(revoked_at__gt=timezone.now())
        if self.status == self.Status.PUBLISHED:
            pending = pending | self.preview_links.filter(revoked_at__isnull=True)
            pending.update(revoked_at=self.published_at)
        else:
            pending.update(revoked_at=None)

    def owners(self):
        """The accounts that own this article: whoever created it, and those of
        its bylines and translators."""
        return (
            get_user_model()
            .objects.filter(
                Q(pk=self.created_by_id)
                | Q(author_profile__articles=self)
                | Q(author_profile__translations=self)
            )
            .distinct()
        )

    def is_owned_by(self, user):
        """Whether ``user`` created this article, signs it or translates it."""
        if not user.is_authenticated:
            return False
        if self.created_by_id == user.pk:
            return True
        return self.pk is not None and self.owners().filter(pk=user.pk).exists()

    def can_be_edited_by(self, user):
        """Editors edit everything; journalists edit only the drafts they own."""
        if user.has_perm("articles.publish_article"):
            return True
        if not user.has_perm("articles.change_article"):
            return False
        return self.status == self.Status.DRAFT and self.is_owned_by(user)

    def can_be_deleted_by(self, user):
        if user.has_perm("articles.publish_article") and user.has_perm("articles.delete_article"):
            return True
        return (
            user.has_perm("articles.delete_article")
            and self.status == self.Status.DRAFT
            and self.is_owned_by(user)
        )

    def publication_problems(self, authors=None, has_hero_image=None):
        """What is missing before this article can be published, by field, in
        French. A form passes the bylines and image it is about to save."""
        problems = {}
        if not self.title.strip():
            problems["title"] = _("Le titre est obligatoire pour publier.")
        if not self.standfirst.strip():
            problems["standfirst"] = _("Le chapô est obligatoire pour publier.")
        if self.section_id is None:
            problems["section"] = _("Choisissez une rubrique avant de publier.")
        if authors is None:
            authors = list(self.authors.all()) if self.pk else []
        if not authors:
            problems["authors"] = _("Ajoutez au moins une signature avant de publier.")
        if has_hero_image is None:
            has_hero_image = bool(self.hero_image)
        if has_hero_image and not self.hero_image_alt.strip():
            problems["hero_image_alt"] = _(
                "Décrivez l’image principale (texte alternatif) avant de publier."
            )
        return problems

    def translation_problems(self, translators):
        """What a translation credit lacks, by field, in French: a translator, an
        original title or address needs the original language. The form passes
        the translators it is about to save."""
        if self.original_language:
            return {}
        if translators or self.original_title or self.original_url:
            return {
                "original_language": _(
                    "Indiquez la langue originale : cet article est crédité comme une traduction."
                )
            }
        return {}

    @property
    def translated_from(self):
        """« Traduit du russe », or "" for an article written in French."""
        return TRANSLATED_FROM.get(self.original_language, "")

    @property
    def is_scheduled(self):
        return (
            self.status == self.Status.PUBLISHED
            and self.published_at is not None
            and self.published_at > timezone.now()
        )

    @property
    def is_public(self):
        return (
            self.status == self.Status.PUBLISHED
            and self.published_at is not None
            and self.published_at <= timezone.now()
        )

    @property
    def reading_minutes(self):
        """Minutes of reading, at about 230 words a minute."""
        return max(1, math.ceil(self.word_count / WORDS_PER_MINUTE))


class ArticleRevision(models.Model):
    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="revisions"
    )
    created_at = models.DateTimeField(_("date"), default=timezone.now, db_index=True)
    created_by = stamped_by(_("par"), editable=True)
    version = models.PositiveIntegerField(_("version"))
    data = models.JSONField(_("contenu"))
    changed_fields = models.JSONField(_("champs modifiés"), default=list)
    note = PlainCharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("version d’article")
        verbose_name_plural = _("versions d’article")

    def __str__(self):
        return f"{self.article} — v{self.version}"


class ArticleNoteQuerySet(models.QuerySet):
    def open(self):
        """Notes nobody has marked as resolved yet."""
        return self.filter(resolved_at__isnull=True)


class ArticleNote(models.Model):
    """A note the newsroom leaves on an article while reviewing it. Notes are
    for staff only: no public page, feed, preview or revision shows them."""

    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="notes"
    )
    text = PlainTextField(
        _("note"),
        max_length=4000,
        help_text=_("Ce qu’il faut revoir ou vérifier. Seule la rédaction la lit."),
    )
    created_at = models.DateTimeField(_("date"), default=timezone.now, editable=False)
    created_by = stamped_by(_("par"))
    resolved_at = models.DateTimeField(_("réglée le"), null=True, blank=True, editable=False)
    resolved_by = stamped_by(_("réglée par"))

    objects = ArticleNoteQuerySet.as_manager()

    class Meta:
        # In the order they were written, as a conversation reads.
        ordering = ["created_at", "pk"]
        verbose_name = _("note de relecture")
        verbose_name_plural = _("notes de relecture")

    def __str__(self):
        return _("Note du %(date)s") % {"date": f"{timezone.localtime(self.created_at):%d/%m/%Y}"}

    @property
    def is_resolved(self):
        return self.resolved_at is not None

    def can_be_resolved_by(self, user):
        """The note's author resolves it, and so do editors."""
        if self.is_resolved or not user.has_perm("articles.change_articlenote"):
            return False
        return user.has_perm("articles.publish_article") or (
            self.created_by_id is not None and self.created_by_id == user.pk
        )

    def resolve(self, user):
        self.resolved_at = timezone.now()
        self.resolved_by = user
        self.save(update_fields=["resolved_at", "resolved_by"])

    def recipients(self):
        """Who is mailed when this note sends the article back: the article's
        owners with an address, except the note's author."""
        return (
            self.article.owners()
            .filter(is_active=True)
            .exclude(email="")
            .exclude(pk=self.created_by_id)
            .order_by("pk")
        )


class ArticleRedirect(models.Model):
    """An old address of a published article, answered with a permanent redirect."""

    old_slug = models.SlugField(_("ancien identifiant"), max_length=200, unique=True)
    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="redirects"
    )
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)

    class Meta:
        verbose_name = _("redirection")
        verbose_name_plural = _("redirections")

    def __str__(self):
        return f"{self.old_slug} → {self.article.slug}"


class Correction(models.Model):
    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="corrections"
    )
    text = PlainTextField(
        _("correction"),
        typography=True,
        help_text=_("Ce qui était faux et ce qui a été corrigé, tel que les lecteurs le liront."),
    )
    corrected_at = models.DateTimeField(_("date de la correction"), default=timezone.now)
    created_by = stamped_by(_("par"))

    class Meta:
        ordering = ["-corrected_at", "-pk"]
        verbose_name = _("correction")
        verbose_name_plural = _("corrections")

    def __str__(self):
        return _("Correction du %(date)s") % {
            "date": f"{timezone.localtime(self.corrected_at):%d/%m/%Y}"
        }

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        self._article_changed()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        self._article_changed()
        return result

    def _article_changed(self):
        # A correction changes the article: readers and feeds see a new modification
        # date, and the page knows whether it has corrections to show.
        Article.objects.filter(pk=self.article_id).update(
            updated_at=timezone.now(),
            correction_count=Correction.objects.filter(article_id=self.article_id).count(),
        )


class PreviewLinkQuerySet(models.QuerySet):
    def active(self):
        return self.filter(Q(revoked_at__isnull=True) | Q(revoked_at__gt=timezone.now()))


class PreviewLink(models.Model):
    """A secret address that shows an unpublished article to someone without an
    account (a source, a translator)."""

    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="preview_links"
    )
    token = models.CharField(max_length=64, unique=True, default=new_preview_token, editable=False)
    recipient = PlainCharField(
        _("pour qui"),
        max_length=150,
        help_text=_("La personne à qui vous envoyez ce lien (une source, un traducteur…)."),
    )
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    created_by = stamped_by(_("créé par"))
    # Set by an editor's revocation, or to the publication time: the link works
    # until then.
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True, editable=False)

    objects = PreviewLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("lien d’aperçu")
        verbose_name_plural = _("liens d’aperçu")

    def __str__(self):
        return _("Lien d’aperçu de « %(title)s »") % {"title": self.article}

    def get_absolute_url(self):
        return reverse("articles:shared-preview", args=[self.token])

    @property
    def has_ended(self):
        """Revoked by an editor, or past the article's publication."""
        return self.revoked_at is not None and self.revoked_at <= timezone.now()

    def revoke(self):
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])


class SpellingVariantGroup(models.Model):
    """Spellings of one name that readers may type: a search for one finds
    articles written with any other (Kirghizistan / Kirghizstan / Kyrgyzstan)."""

    spellings = PlainTextField(
        _("orthographes"),
        help_text=_(
            "Les graphies équivalentes, séparées par des virgules ou une par ligne. "
            "Un mot par graphie ; les accents et majuscules sont ignorés."
        ),
    )
    note = PlainCharField(
        _("note"), max_length=200, blank=True, help_text=_("Par exemple : pays, capitale.")
    )

    class Meta:
        ordering = ["spellings"]
        verbose_name = _("groupe d’orthographes")
        verbose_name_plural = _("orthographes équivalentes (recherche)")

    def __str__(self):
        return " / ".join(self.spelling_list())

    def save(self, *args, **kwargs):
        self.spellings = ", ".join(self.spelling_list())
        super().save(*args, **kwargs)

    def clean(self):
        spellings = self.spelling_list()
        bad = [spelling for spelling in spellings if not SPELLING_RE.fullmatch(spelling)]
        if bad:
            raise ValidationError(
                {
                    "spellings": _(
                        "Un seul mot par graphie, sans espace ni trait d’union : %(bad)s."
                    )
                    % {"bad": ", ".join(bad)}
                }
            )
        if len(set(self.folded_spellings())) < 2:
            raise ValidationError({"spellings": _("Indiquez au moins deux graphies différentes.")})

    def spelling_list(self):
        seen, result = set(), []
        for item in re.split(r"[,\n;/]+", self.spellings or ""):
            item = item.strip()
            if item and fold(item) not in seen:
                seen.add(fold(item))
                result.append(item)
        return result

    def folded_spellings(self):
        return [fold(spelling) for spelling in self.spelling_list()]


SPELLING_RE = re.compile(r"[^\W_\d]+")


class ReadCountQuerySet(models.QuerySet):
    def record(self, article_id, when=None):
        """Count one reading of ``article_id`` in the hour of ``when`` (now), if
        the article is public, in one statement: an upsert of the hour's row
        from ``Article.objects.published()``, compiled into the INSERT."""
        hour = (when or timezone.now()).replace(minute=0, second=0, microsecond=0)
        public = Article.objects.published().filter(pk=article_id).values("pk")
        select_sql, select_params = public.query.sql_with_params()
        table = self.model._meta.db_table
        with connections[self.db].cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO "{table}" (article_id, hour, count)
                SELECT readable.*, %s, 1 FROM ({select_sql}) readable
                ON CONFLICT (article_id, hour) DO UPDATE SET count = "{table}".count + 1
                """,  # noqa: S608 (no value is interpolated: only identifiers and compiled SQL)
                [hour, *select_params],
            )
            return cursor.rowcount == 1

    def since(self, moment):
        return self.filter(hour__gte=moment.replace(minute=0, second=0, microsecond=0))

    def most_read(self, since, limit):
        """The public articles read most since ``since``, most read first, each
        with ``reads``: the card columns only. It sums the counts of the window
        (an index range on the hour), whatever the archive's size, then reads
        the few cards."""
        totals = list(
            self.since(since)
            .filter(article__in=Article.objects.published())
            .values_list("article")
            .annotate(total=models.Sum("count"))
            .order_by("-total", "-article__published_at")[:limit]
        )
        cards = Article.objects.for_listing().in_bulk([pk for pk, _ in totals])
        for pk, total in totals:
            cards[pk].reads = total
        return [cards[pk] for pk, _ in totals]


class ReadCount(models.Model):
    """How many times an article was read in one hour, counted by a first-party
    beacon: no cookie, no address, no browser stored; only the number."""

    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="read_counts"
    )
    hour = models.DateTimeField(_("heure"))
    count = models.PositiveIntegerField(_("lectures"), default=0)

    objects = ReadCountQuerySet.as_manager()

    class Meta:
        verbose_name = _("lectures d’une heure")
        verbose_name_plural = _("lectures par heure")
        constraints = [
            models.UniqueConstraint(fields=["article", "hour"], name="read_count_per_hour")
        ]
        indexes = [models.Index(fields=["hour"], name="read_count_hour_idx")]

    def __str__(self):
        return f"{self.article_id} @ {self.hour:%Y-%m-%d %H h}: {self.count}"


MOST_READ_CACHE_KEY = "articles:most-read"


def cached_most_read():
    """« Les plus lus » (settings.MOST_READ_HOURS, MOST_READ_COUNT), the same
    for every reader from one refresh time (a multiple of
    MOST_READ_REFRESH_SECONDS) to the next, and while content is unchanged (an
    unpublished article leaves the list at once)."""
    refresh = settings.MOST_READ_REFRESH_SECONDS
    window = int(time.time() // refresh)
    # Pages showing the list are kept until it is refreshed, not longer.
    limit_page_lifetime((window + 1) * refresh)

    def most_read():
        since = timezone.now() - timedelta(hours=settings.MOST_READ_HOURS)
        return ReadCount.objects.most_read(since, settings.MOST_READ_COUNT)

    return clock_cached(MOST_READ_CACHE_KEY, most_read, refresh, variant=window)


VARIANTS_CACHE_KEY = "articles:spelling-variants"


def cached_spelling_variants():
    """{folded spelling: every folded spelling of its group}, from the cache
    while content is unchanged: every search reads it."""

    def variants():
        mapping = {}
        for group in SpellingVariantGroup.objects.all():
            spellings = set(group.folded_spellings())
            for spelling in spellings:
                mapping.setdefault(spelling, set()).update(spellings)
        return mapping

    return clock_cached(VARIANTS_CACHE_KEY, variants, 3600)
