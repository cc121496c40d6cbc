"""Full-text search in French that ignores accents and knows the region's
spelling variants.

PostgreSQL does the folding: the ``newsroom_french`` text search configuration
(migration articles 0014) is French with the ``unaccent`` dictionary before the
stemmer, so « Tokaïev », « TOKAIEV » and « tokaiev » are one word. ``fold`` is
its Python twin, for the keys of spelling variants and for highlighting.
When no article contains the words, titles close to the query (``pg_trgm``)
are offered instead: a typo still finds the story."""

import re
import unicodedata
from bisect import bisect_left
from html import escape

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db.models import BooleanField, FloatField, Func, TextField, Value
from django.utils.safestring import mark_safe

SEARCH_CONFIG = "newsroom_french"
MAX_QUERY_LENGTH = 200
MAX_QUERY_WORDS = 12

# Letters that fold to several letters, which translate() cannot do.
_MULTI = {"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss", "ĳ": "ij", "Ĳ": "ij"}


def _single_letter_folds():
    folds = {}
    # Latin-1 and Latin Extended-A, and the few Extended-B letters that
    # transliterations from the region's languages use.
    for char in [chr(code) for code in range(0x00C0, 0x0180)] + list("ȘșȚțǦǧǍǎǏǐǑǒǓǔ"):
        if char in _MULTI:
            continue
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        if len(base) == 1 and base.isascii() and base.isalpha():
            folds[char] = base.lower()
    # Letters without a decomposition, common in transliterations.
    folds.update({"ı": "i", "ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d"})
    return folds


_SINGLE = _single_letter_folds()
_FROM = "".join(_SINGLE)
_TO = "".join(_SINGLE.values())
_PY_TABLE = str.maketrans({**_SINGLE, **_MULTI})


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def fold(text: str) -> str:
    """Lower-case ``text`` and remove its accents, as the search column does.
    Only the runs of non-ASCII letters are translated (str.translate looks up
    every character of a long text one by one: twice as slow)."""
    return _NON_ASCII.sub(lambda run: run.group().translate(_PY_TABLE), text or "").lower()


def search_vector_expression():
    """Title weighs most, then the standfirst, then the body."""
    return (
        SearchVector("title", config=SEARCH_CONFIG, weight="A")
        + SearchVector("standfirst", config=SEARCH_CONFIG, weight="B")
        + SearchVector("body", config=SEARCH_CONFIG, weight="C")
    )


def title_key(expression="title"):
    """The title as the trigram index knows it: lower case, no accents (the
    immutable ``newsroom_unaccent`` function of migration articles 0014)."""
    return Func(expression, function="newsroom_unaccent", output_field=TextField())


def _trigram_operator(operator, text, output_field):
    return Func(
        title_key(),
        Value(text),
        template="%(expressions)s",
        arg_joiner=f" {operator} ",
        output_field=output_field,
    )


def title_close_to(text):
    """True when a word sequence of the title is close to ``text``: pg_trgm's
    ``%>``, at pg_trgm.word_similarity_threshold."""
    return _trigram_operator("%%>", text, BooleanField())


def title_distance_to(text):
    """1 − the word similarity of ``text`` to the title: pg_trgm's ``<->>``."""
    return _trigram_operator("<->>", text, FloatField())


_WORD = re.compile(r"[^\W_]+")


def query_words(text: str) -> list[str]:
    """The folded words of a reader's query; punctuation and operators are dropped."""
    return _WORD.findall(fold((text or "")[:MAX_QUERY_LENGTH]))[:MAX_QUERY_WORDS]


def build_query(words: list[str], variants: dict[str, set[str]]):
    """A tsquery matching all the words, each one or any of its spelling variants.
    Returns None when there is nothing to search for."""
    if not words:
        return None
    terms = []
    for word in words:
        alternatives = sorted(variants.get(word, set()) | {word})
        terms.append(
            alternatives[0] if len(alternatives) == 1 else f"({' | '.join(alternatives)})"
        )
    # Only [^\W_]+ words reach this string, so it cannot carry tsquery operators.
    return SearchQuery(" & ".join(terms), search_type="raw", config=SEARCH_CONFIG)


def highlight(text: str, stems: list[str], length: int = 40) -> str:
    """An excerpt of ``text``: the ``length`` words with the most matches of
    ``stems`` (search lexemes), those words in <mark>, everything escaped.

    One regular expression finds the matches in the whole folded text (a
    long article is read once, in C); only the excerpt's words are handled
    one by one."""
    text = " ".join(text.split())
    if not text:
        return ""
    words = text.split(" ")
    stems = sorted({stem for stem in stems if len(stem) >= 2}, key=len, reverse=True)
    hits = []
    if stems:
        # Folding keeps spaces, so the n-th folded word is the n-th word.
        folded = fold(text)
        pattern = re.compile(
            r"(?:^|(?<= ))[^\w ]*(?:" + "|".join(re.escape(stem) for stem in stems) + ")"
        )
        position = index = 0
        for match in pattern.finditer(folded):
            index += folded.count(" ", position, match.start())
            position = match.start()
            hits.append(index)
    best_start = 0
    if hits:
        # The window that starts a little before a hit and holds the most hits.
        best_count = 0
        for hit in hits:
            count = bisect_left(hits, hit + length - 3) - bisect_left(hits, hit)
            if count > best_count:
                best_start, best_count = max(0, hit - 3), count
        best_start = min(best_start, max(0, len(words) - length))
    window = range(best_start, min(len(words), best_start + length))
    marked = set(hits)
    parts = [_marked(words[i]) if i in marked else escape(words[i]) for i in window]
    prefix = "… " if best_start > 0 else ""
    suffix = " …" if window.stop < len(words) else ""
    return mark_safe(prefix + " ".join(parts) + suffix)


_EDGES = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)


def _marked(word):
    # Punctuation stuck to a word stays outside the highlight.
    before, core, after = _EDGES.match(word).groups()
    return f"{escape(before)}<mark>{escape(core)}</mark>{escape(after)}"
