import re
from datetime import timedelta
from html import escape

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape as page_escape
from pytest_django.asserts import assertContains, assertNotContains

from articles import search as search_module
from articles import views
from articles.models import (
    Article,
    SpellingVariantGroup,
    _search_params,
    _search_sql,
    cached_spelling_variants,
)
from articles.search import (
    _marked,
    fold,
    highlight,
    query_text,
    query_words,
    title_close_to,
    title_distance_to,
)
from tests.factories import make_article

pytestmark = pytest.mark.django_db
SEARCH = reverse("articles:search")


def results(client, query, **params):
    response = client.get(SEARCH, {"q": query, **params})
    assert response.status_code == 200
    return [article.title for article in response.context["page"].object_list]


def test_stemming_finds_other_forms_of_a_word(client):
    """« échanges » finds an article that only says « échange »."""
    make_article(title="Commerce", body="<p>Un échange commercial important.</p>")
    make_article(title="Autre chose", body="<p>Rien à voir.</p>")
    assert results(client, "échanges") == ["Commerce"]


@pytest.mark.parametrize("query", ["tokaiev", "TOKAÏEV", "Tokaïev", "tokaïev"])
def test_accents_and_case_are_ignored(client, query):
    """« tokaiev » finds « Tokaïev », whatever the accents and capitals."""
    make_article(title="Visite d’État", body="<p>Le président Tokaïev a reçu son homologue.</p>")
    assert results(client, query) == ["Visite d’État"]


@pytest.mark.parametrize("query", ["Kyrgyzstan", "kirghizstan", "Kirghizistan"])
def test_spelling_variants_find_each_other(client, query):
    """The shipped groups make any spelling of Kyrgyzstan find the others."""
    make_article(title="Au Kirghizistan", body="<p>Bichkek.</p>")
    make_article(title="In Kyrgyzstan", body="<p>Bishkek.</p>")
    assert sorted(results(client, query)) == ["Au Kirghizistan", "In Kyrgyzstan"]


def test_starting_list_covers_countries_capitals_and_leaders():
    """The shipped list knows the region's countries, capitals and leaders."""
    variants = cached_spelling_variants()
    for a, b in [
        ("bishkek", "bichkek"),
        ("tokayev", "tokaiev"),
        ("djaparov", "japarov"),
        ("dushanbe", "douchanbe"),
        ("tajikistan", "tadjikistan"),
        ("ashgabat", "achgabat"),
        ("mirziyoyev", "mirzioiev"),
    ]:
        assert b in variants[a], (a, b)


def test_a_group_added_in_the_admin_works_at_once(client, admin_client):
    """Editors add a group in the admin; the next search uses it."""
    make_article(title="Ancienne capitale", body="<p>Frounzé était le nom de la ville.</p>")
    assert results(client, "Frunze") == []
    response = admin_client.post(
        reverse("admin:articles_spellingvariantgroup_add"),
        {"spellings": "Frounzé\nFrunze", "note": "ancien nom de Bichkek"},
    )
    assert response.status_code == 302
    assert SpellingVariantGroup.objects.get(note="ancien nom de Bichkek").spellings == (
        "Frounzé, Frunze"
    )
    assert results(client, "Frunze") == ["Ancienne capitale"]


@pytest.mark.parametrize(
    ("spellings", "message"),
    [
        ("Nour-Soultan, Astana", "Un seul mot par graphie"),
        ("Astana", "au moins deux"),
        ("Astana, ASTANA", "au moins deux"),
        ("Alma Ata, Almaty", "Un seul mot"),
    ],
)
def test_admin_refuses_groups_it_cannot_use(admin_client, spellings, message):
    """Groups of one spelling, or spellings of several words, are refused with a message."""
    response = admin_client.post(
        reverse("admin:articles_spellingvariantgroup_add"), {"spellings": spellings}
    )
    assert response.status_code == 200
    assert message in response.content.decode()


def test_title_ranks_above_standfirst_above_body(client):
    """A match in the title ranks first, then the standfirst, then the body."""
    make_article(title="Rien", standfirst="Rien.", body="<p>Le barrage de Rogun avance.</p>")
    make_article(title="Rien non plus", standfirst="Le barrage de Rogun.", body="<p>x</p>")
    make_article(title="Le barrage de Rogun", standfirst="Rien.", body="<p>x</p>")
    assert results(client, "rogun") == ["Le barrage de Rogun", "Rien non plus", "Rien"]


def test_excerpt_highlights_the_matching_words_with_their_accents(client):
    """The excerpt shows the text around the match, the words in <mark>, accents kept."""
    make_article(
        title="Diplomatie",
        standfirst="Une rencontre.",
        body="<p>" + "Texte sans rapport. " * 30 + "Le président Tokaev a parlé.</p>",
    )
    response = client.get(SEARCH, {"q": "Tokaïev"})
    content = response.content.decode()
    assert "<mark>Tokaev</mark>" in content
    assert "… " in content  # the excerpt starts near the match, not at the top


def test_the_excerpt_follows_the_body_as_saved_even_a_partial_save(client):
    """Excerpts read the body's plain text, derived on every save, also when
    only the body is saved (update_fields); the word count follows it."""
    article = make_article(
        title="Steppe", standfirst="Chapô.", body="<p>Le <b>coton</b> ouzbek.</p>"
    )
    assert (article.body_text, article.word_count) == ("Le coton ouzbek.", 4)
    article.body = "<p>Le <i>coton</i> et la <b>soie</b> de Khodjent.</p>"
    article.save(update_fields=["body"])
    article.refresh_from_db()
    assert (article.body_text, article.word_count) == ("Le coton et la soie de Khodjent.", 8)
    response = client.get(SEARCH, {"q": "soie"})
    assertContains(response, "Chapô. Le coton et la <mark>soie</mark> de Khodjent.", html=True)


def test_excerpts_read_text_already_single_spaced(client, monkeypatch):
    """The search hands highlight() the standfirst and the body with single
    spaces between words (the standfirst's non-breaking spaces and line breaks
    made so), so that it never spaces a whole article again; the excerpt is the
    same as from the text as typed."""
    make_article(
        title="Rogun",
        standfirst="Le chantier\u00a0: un barrage\nau Tadjikistan ",
        body="<p>Le   barrage  de Rogun.</p><p>Suite.</p>",
    )
    make_article(title="Barrage sans chapô", standfirst="", body="<p>Un barrage.</p>")
    read = []

    def recording(text, stems, length=40):
        read.append(text)
        return highlight(text, stems, length)

    monkeypatch.setattr(views, "highlight", recording)
    response = client.get(SEARCH, {"q": "barrage"})
    assert sorted(read) == [
        "Le chantier : un barrage au Tadjikistan Le barrage de Rogun. Suite.",
        "Un barrage.",
    ]
    typed = "Le chantier\u00a0: un barrage\nau Tadjikistan  Le barrage de Rogun. Suite."
    assertContains(response, str(highlight(typed, ["barrag"])), html=True)


def test_a_partial_save_of_other_fields_keeps_the_newer_text_of_the_database():
    """An instance loaded before someone else changed the body, saved with
    update_fields that leave the body alone, does not write its older text
    over the body's plain text and word count."""
    article = make_article(title="Steppe", standfirst="Chapô.", body="<p>Le coton.</p>")
    stale = Article.objects.get(pk=article.pk)
    article.body = "<p>La soie de Khodjent.</p>"
    article.save()
    stale.title = "Steppe et coton"
    stale.save(update_fields=["title"])
    stale.refresh_from_db()
    assert (stale.title, stale.body_text, stale.word_count) == (
        "Steppe et coton",
        "La soie de Khodjent.",
        5,
    )


def test_the_excerpt_is_the_densest_window_with_punctuation_outside_the_marks():
    """Of two passages, the excerpt is the one with more matches; a word after
    « œ » (two letters folded) is still found at its place; punctuation stays
    outside <mark>, and everything is escaped."""
    text = (
        "Un cœur <b> vaillant. "
        + "rien " * 50
        + "Les barrages, le barrage ; « barrages » et le Rogun. "
        + "fin " * 50
    )
    assert highlight(text, ["barrag", "rogun"], length=12) == (
        "… rien rien Les <mark>barrages</mark>, le <mark>barrage</mark> ; "
        "« <mark>barrages</mark> » et le …"
    )
    assert highlight(text, ["coeur", "vaillant"], length=4) == (
        "Un <mark>cœur</mark> &lt;b&gt; <mark>vaillant</mark>. …"
    )
    opening = highlight(text, ["vaillant"], length=5)
    assert opening == "Un cœur &lt;b&gt; <mark>vaillant</mark>. rien …"
    assert highlight("   ", ["x"]) == "" and highlight("Sans rien", []) == "Sans rien"


def test_a_word_after_an_elision_or_a_hyphen_is_marked():
    """PostgreSQL finds « l’économie » and « porte-avions » for « économie » and
    « avion » (it splits words there): the excerpt marks them too, but not a
    stem found inside a word."""
    text = "Sur l’économie du porte-avions, l'Economie des avions et des biplans."
    assert highlight(text, ["econom", "avion"]) == (
        "Sur <mark>l’économie</mark> du <mark>porte-avions</mark>, "
        "<mark>l&#x27;Economie</mark> des <mark>avions</mark> et des biplans."
    )


def test_a_long_run_of_letters_is_read_once(monkeypatch):
    """A stem that keeps matching inside one long word (pasted data, a URL) is
    not looked for again after each of its matches there: the excerpt of a
    word of 400,000 letters holding 200,000 matches takes two searches, one
    that finds the first match inside the word and one from the next space."""

    class CountingPattern:
        def __init__(self, pattern):
            self.pattern, self.searches = pattern, 0

        def search(self, *args):
            self.searches += 1
            return self.pattern.search(*args)

    patterns, compile_pattern = [], search_module._stems_pattern

    def counting(stems):
        patterns.append(CountingPattern(compile_pattern(stems)))
        return patterns[-1]

    monkeypatch.setattr(search_module, "_stems_pattern", counting)
    text = "ab" * 200_000 + " un deux trois fin ba"
    assert highlight(text, ["ba"], length=4) == "… deux trois fin <mark>ba</mark>"
    assert [pattern.searches for pattern in patterns] == [2]


# Letters of French, transliterations and Cyrillic, in both cases, with the
# ones that fold to two letters, and punctuation that sticks to words.
_LETTERS = "aeiouAEIOUéÉèêëàâäîïôöûüçÇœŒæÆßıİłŁøđșțğǎkKдДяЯжЖ«»,;.'’-1"
_TEXT_WORDS = st.lists(st.text(_LETTERS, min_size=1, max_size=8), min_size=1, max_size=40)


@given(
    words=_TEXT_WORDS,
    picks=st.lists(st.integers(0, 39), max_size=3),
    cut=st.integers(2, 6),
    length=st.integers(4, 45),
    spaces=st.sampled_from([" ", "  ", "\n", " \u00a0"]),
)
def test_excerpts_mark_the_words_whose_folded_form_starts_with_a_stem(
    words, picks, cut, length, spaces
):
    """Matching the unfolded text with letter classes marks exactly the words
    that, folded one by one, have a stem at their start or after punctuation
    inside them (« l’économie »), and the
    excerpt is the window that starts three words before the hit with the
    most hits after it, as a plain word-by-word reading finds."""
    stems = []
    for pick in picks:
        letters = re.sub(r"[\W_]", "", fold(words[pick % len(words)]))[:cut]
        if len(letters) >= 2:
            stems.append(letters)
    starts = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, stems)) + ")") if stems else None
    hits = [n for n, word in enumerate(words) if starts and starts.search(fold(word))]
    first = best = 0
    for hit in hits:
        count = len([other for other in hits if hit <= other < hit + length - 3])
        if count > best:
            first, best = max(0, hit - 3), count
    first = min(first, max(0, len(words) - length))
    window = range(first, min(len(words), first + length))
    expected = " ".join(_marked(words[n]) if n in hits else escape(words[n]) for n in window)
    expected = ("… " if first else "") + expected + (" …" if window.stop < len(words) else "")
    assert highlight(spaces.join(words), stems, length=length) == expected


def test_the_search_vectors_keep_statistics_for_ten_thousand_words():
    """PostgreSQL is told how common each of the archive's 10,000 most frequent
    words is (migration articles 0016, and 0029 for the search entries): a
    common word walks the date index and stops at the 200 most recent matches
    instead of reading every match."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attstattarget FROM pg_attribute "
            "WHERE attrelid = 'articles_article_search'::regclass AND attname = 'vector'"
        )
        assert cursor.fetchone()[0] == 1000


def test_results_are_paginated_and_keep_the_query(client):
    """Results come ten at a time; the next page link keeps the query."""
    for index in range(12):
        make_article(title=f"Glacier {index}", body="<p>Les glaciers du Pamir.</p>")
    response = client.get(SEARCH, {"q": "glacier"})
    content = response.content.decode()
    assert len(response.context["page"].object_list) == 10
    assert "12 résultats" in content
    assert 'href="?q=glacier&amp;page=2"' in content
    assert len(results(client, "glacier", page=2)) == 2


def test_only_the_most_recent_matches_are_ranked_and_pages_share_them_out(
    client, monkeypatch, django_assert_num_queries
):
    """The SEARCH_RANKED most recent matches are ranked (an older match in the
    title is left out), best first and then newest first; pages share them out
    with none twice; the page says the list was cut; the first page and the
    number of matches come in one query, the page asked for too."""
    from articles import models

    monkeypatch.setattr(models, "SEARCH_RANKED", 5)
    now = timezone.now()
    for hours in range(8):
        title = f"Le glacier {hours}" if hours in (2, 6) else f"Article {hours}"
        body = "<p>Un glacier du Pamir.</p>" if hours not in (2, 6) else "<p>x</p>"
        make_article(title=title, body=body, published_at=now - timedelta(hours=hours))
    make_article(title="Brouillon", body="<p>glacier</p>", published=False)
    ranked = ["Le glacier 2", "Article 0", "Article 1", "Article 3", "Article 4"]

    for page, window in (("1", slice(0, 2)), ("2", slice(2, 4)), ("3", slice(4, 5))):
        with django_assert_num_queries(1):
            found = models.SearchResults("glacier", 2, page=page)
            assert found.count() == 5
            assert [a.title for a in found[window]] == ranked[window]
    assert all(a.body_text for a in found[window])
    # Past the end or not a number: the first window tells the count.
    for page in ("4", "x", "-1", "²", None):
        with django_assert_num_queries(2 if page == "4" else 1):
            assert models.SearchResults("glacier", 2, page=page).count() == 5

    monkeypatch.setattr("articles.views.SEARCH_PER_PAGE", 2)
    pages = [results(client, "glacier", page=page) for page in (1, 2, 3)]
    assert [title for page in pages for title in page] == ranked
    content = client.get(SEARCH, {"q": "glacier"}).content.decode()
    assert "Plus de 5 résultats" in content
    assert results(client, "glacier", page=99) == ranked[4:]  # the last page
    assert results(client, "glacier Tokaïev") == []


PAGE_LINK = re.compile(r'<a rel="(prev|next)" href="([^"]*)"')


@pytest.mark.parametrize("page_cache", [True, False])
def test_result_page_links_carry_the_query_and_the_page_only(client, settings, page_cache):
    """Links to other result pages carry the query as searched (trimmed) and the
    page number, nothing else the address held (utm_…, source, p): they lead to
    the one cached copy of each page, with the page cache in front or not."""
    settings.PAGE_CACHE_ENABLED = page_cache
    for index in range(21):
        make_article(title=f"Glacier du Pamir {index}", body="<p>Les glaciers fondent.</p>")
    response = client.get(
        SEARCH,
        {"q": "  glacier Pamir ", "page": "2", "utm_source": "lettre", "source": "/x/", "p": "3"},
    )
    assert PAGE_LINK.findall(response.content.decode()) == [
        ("prev", "?q=glacier+Pamir&amp;page=1"),
        ("next", "?q=glacier+Pamir&amp;page=3"),
    ]


def test_drafts_and_scheduled_articles_are_never_found(client):
    """Search starts from published(): drafts and scheduled articles never show."""
    from datetime import timedelta

    from django.utils import timezone

    make_article(title="Secret brouillon", published=False, body="<p>Samarcande</p>")
    make_article(
        title="Secret futur",
        published_at=timezone.now() + timedelta(days=1),
        body="<p>Samarcande</p>",
    )
    make_article(title="Public", body="<p>Samarcande</p>")
    assert results(client, "samarcande") == ["Public"]


@pytest.mark.parametrize(
    ("query", "shown", "answer"),
    [
        ("", "", None),
        ("   ", "", None),
        ("?!;:,.«»", "?!;:,.«»", "no word"),
        ("x" * 5000, "x" * 200, "nothing found"),
        ("mot " * 300, ("mot " * 50).strip(), "nothing found"),
        (
            "'; DROP TABLE articles_article; --",
            "'; DROP TABLE articles_article; --",
            "nothing found",
        ),
        ("<script>alert(1)</script>", "<script>alert(1)</script>", "nothing found"),
        ("a & | ! :* ( ) <-> \\", "a & | ! :* ( ) <-> \\", "nothing found"),
        ("\x00\x01", "", None),
        ("%", "%", "no word"),
        ("Kirghizistan OR 1=1", "Kirghizistan OR 1=1", "nothing found"),
        ("🙂🙂", "🙂🙂", "no word"),
        ("ﬁnance", "ﬁnance", "found"),
    ],
)
def test_any_input_gives_an_ordinary_page(client, query, shown, answer):
    """Empty, long, punctuation-only, SQL or HTML input: a normal page, never an
    error. The query is shown escaped, cut at 200 characters and without control
    characters, and the page says which case it is: nothing typed, no word to
    look for, nothing found, or the results."""
    make_article(title="Finance publique", body="<p>Kirghizistan</p>")
    response = client.get(SEARCH, {"q": query})
    # Pages are Jinja2 templates: their escaping is markupsafe's.
    assertContains(response, f'name="q" value="{page_escape(shown)}"', count=1)
    assertNotContains(response, "<script>alert(1)</script>")
    messages = {
        "no word": "Tapez au moins un mot",
        "nothing found": f"Aucun article ne correspond à « {page_escape(shown)} ».",
        "found": "1 résultat",
    }
    for case, message in messages.items():
        assertContains(response, message, count=1 if case == answer else 0)
    assertContains(response, 'role="status"', count=0 if answer is None else 1)
    assert Article.objects.exists()


def test_malformed_page_numbers_in_search(client):
    """Bad page numbers in search give an ordinary page."""
    make_article(title="Finance", body="<p>budget</p>")
    for page in ("abc", "-1", "99999", ""):
        assert client.get(SEARCH, {"q": "budget", "page": page}).status_code == 200


def test_query_words_drop_operators_and_limit_length():
    """Only plain words reach PostgreSQL, at most twelve."""
    assert query_words("a & b | !c :* (d)") == ["a", "b", "c", "d"]
    assert len(query_words("mot " * 100)) == 12
    assert fold("Œuvre Kirghizstan Tokaïev") == "oeuvre kirghizstan tokaiev"


def test_search_uses_the_gin_index():
    """The search entries' vectors have a GIN index over public articles, and
    the search's own query can use it (its partial index predicate follows
    from ``public_from <= now``). With a few rows the date index is cheaper:
    for the plan, it is dropped (undone by the rollback), and the table is not
    to be read whole."""
    make_article(title="Coton", body="<p>Le coton ouzbek.</p>")
    make_article(title="Bichkek", body="<p>Au Kirghizistan.</p>")
    params = _search_params(query_text(["kirghizistan"], {}), 0, 10)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP INDEX articles_article_search_listing_idx")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + _search_sql(), params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Bitmap Index Scan on articles_article_search_vector_idx" in plan, plan


def test_postgresql_folds_letters_beyond_latin_1(client):
    """unaccent knows every accented Latin letter, Vietnamese and Cyrillic ё too."""
    make_article(title="Rencontre", body="<p>M. Nguyễn a rencontré Ёлка.</p>")
    assert results(client, "nguyen") == ["Rencontre"]
    assert results(client, "Елка") == ["Rencontre"]


def test_a_misspelt_query_offers_the_closest_titles(client):
    """« Tachkient » finds nothing word for word: the page says so and offers
    published titles close to it, closest first, never drafts."""
    make_article(title="À Tachkent, le bazar Tchorsou rouvre")
    nouvelle = make_article(title="Tachkent : la ville nouvelle")
    make_article(title="Tachkent en brouillon", published=False)
    make_article(title="Élections au Kazakhstan")
    response = client.get(SEARCH, {"q": "Tachkient"})
    assert response.context["page"].paginator.count == 0
    titles = [article.title for article in response.context["close"]]
    assert sorted(titles) == [
        "Tachkent\u00a0: la ville nouvelle",
        "À Tachkent, le bazar Tchorsou rouvre",
    ]
    assertContains(
        response, "Aucun article ne contient « Tachkient ». Voici les titres les plus proches"
    )
    assertContains(response, f'<a href="{nouvelle.get_absolute_url()}">', count=1)


def test_a_query_close_to_nothing_says_so(client):
    """Nothing close either: the ordinary « no result » message, no list."""
    make_article(title="Élections au Kazakhstan")
    response = client.get(SEARCH, {"q": "zzzz"})
    assert list(response.context["close"]) == []
    assertContains(response, "Aucun article ne correspond à « zzzz ».")


def test_close_titles_use_the_trigram_index():
    """The trigram index matches the expression close_titles filters and orders by."""
    queryset = Article.objects.filter(title_close_to("tachkent")).order_by(
        title_distance_to("tachkent")
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = queryset.explain()
    assert "article_title_trgm_idx" in plan


def test_a_missing_extension_stops_migrate_with_what_to_do():
    """migrate creates the extensions; when the server cannot, the error names
    the extension and the SQL an administrator can run."""
    from newsroom.extensions import ExtensionUnavailable, RequireExtension

    operation = RequireExtension("newsroom_no_such_extension")
    with (
        pytest.raises(ExtensionUnavailable) as raised,
        transaction.atomic(),
        connection.schema_editor(atomic=False) as editor,
    ):
        operation.database_forwards("articles", editor, None, None)
    message = str(raised.value)
    assert "'newsroom_no_such_extension' is required" in message
    assert "CREATE EXTENSION IF NOT EXISTS newsroom_no_such_extension;" in message
    with connection.cursor() as cursor:
        cursor.execute("SELECT extname FROM pg_extension WHERE extname IN ('unaccent', 'pg_trgm')")
        assert sorted(row[0] for row in cursor.fetchall()) == ["pg_trgm", "unaccent"]


def test_a_long_articles_search_vector_is_kept_in_its_row():
    """Migration 0029: the vector is stored in the article's search entry, in
    the row, not in the TOAST table (the search reads hundreds of them per
    query); the article's own row no longer holds one."""
    # An article of 1,500 words with 300 different ones: the vector of a long
    # report (about 7 kB), more than a row's default share, less than a page.
    words = " ".join(f"terme{(number * 7) % 300}" for number in range(1500))
    article = make_article(title="Un long dossier", body=f"<p>{words}</p>")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, attstorage FROM pg_attribute WHERE attnum > 0 AND NOT attisdropped"
            " AND attrelid = 'articles_article_search'::regclass ORDER BY attnum"
        )
        assert cursor.fetchall() == [("article_id", "p"), ("public_from", "p"), ("vector", "m")]
        cursor.execute(
            "SELECT count(*) FROM pg_attribute WHERE attname = 'search_vector'"
            " AND NOT attisdropped AND attrelid = 'articles_article'::regclass"
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute(
            "SELECT octet_length(vector::text), pg_column_size(vector),"
            " current_setting('server_version_num')::int"
            " FROM articles_article_search WHERE article_id = %s",
            [article.pk],
        )
        text_length, stored_size, version = cursor.fetchone()
        # Past the size at which PostgreSQL moves values out of a row by default.
        assert text_length > stored_size > 2000
        if version >= 170000:  # pg_column_toast_chunk_id: PostgreSQL 17 and later
            cursor.execute(
                "SELECT pg_column_toast_chunk_id(vector) FROM articles_article_search"
                " WHERE article_id = %s",
                [article.pk],
            )
            assert cursor.fetchone()[0] is None
        cursor.execute(
            "SELECT article_id FROM articles_article_search"
            " WHERE vector @@ to_tsquery('newsroom_french', 'terme293')"
        )
        assert cursor.fetchall() == [(article.pk,)]
