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
from functools import lru_cache
from html import escape

from django.contrib.postgres.search import SearchVector
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
_PY_TABLE = str.maketrans({**_SINGLE, **_MULTI})


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def fold(text: str) -> str:
    """Lower-case ``text`` and remove its accents, as the search vectors do.
    Only the runs of non-ASCII letters are translated (str.translate looks up
    every character of a long text one by one: twice as slow)."""
    return _NON_ASCII.sub(lambda run: run.group().translate(_PY_TABLE), text or "").lower()


def search_vector_expression():
    """An article's search vector: the title weighs most, then the standfirst,
    then the body. PostgreSQL computes it in the article's search entry
    (migration 0029, in SQL); tests compare the two."""
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


def query_text(words: list[str], variants: dict[str, set[str]]) -> str | None:
    """A tsquery, as text, matching all the words, each one or any of its
    spelling variants. None when there is nothing to search for."""
    if not words:
        return None
    terms = []
    for word in words:
        alternatives = sorted(variants.get(word, set()) | {word})
        terms.append(
            alternatives[0] if len(alternatives) == 1 else f"({' | '.join(alternatives)})"
        )
    # Only [^\W_]+ words reach this string, so it cannot carry tsquery operators.
    return " & ".join(terms)


def _folding_to():
    """{folded letter: the letters that fold to it}, over the Latin, Greek and
    Cyrillic blocks (« e »: E, é, È, Ë…)."""
    letters = {}
    blocks = (range(0x41, 0x5B), range(0xC0, 0x530), range(0x1E00, 0x2000), range(0x2100, 0x2150))
    for code in (code for block in blocks for code in block):
        folded = fold(chr(code))
        if len(folded) == 1 and folded != chr(code):
            letters.setdefault(folded, set()).add(chr(code))
    return letters


_FOLDING_TO = _folding_to()


def _letter(char):
    """A pattern for the letters that fold to ``char``."""
    letters = {char} | _FOLDING_TO.get(char, set())
    letters |= {other for other in (char.upper(), char.title()) if fold(other) == char}
    if len(letters) == 1:
        return re.escape(char)
    return "[" + "".join(re.escape(letter) for letter in sorted(letters)) + "]"


# The letters that fold to two letters, by those two letters: {"oe": "Œœ"…}.
_PAIRS = {}
for _char, _pair in sorted(_MULTI.items()):
    _PAIRS[_pair] = _PAIRS.get(_pair, "") + _char


def _spellings(stem, at_end=True):
    """A pattern for the spellings whose folded form starts with ``stem``:
    each letter stands for the letters that fold to it, « oe » also for « œ »,
    a run of s for its spellings with « ß » (runs of up to five s: longer ones
    do not occur), and a last « o » for the first half of « œ »."""
    halves = "".join(chars for pair, chars in _PAIRS.items() if at_end and pair[0] == stem[-1:])
    if halves:
        return f"(?:{_spellings(stem, False)}|{_spellings(stem[:-1], False)}[{halves}])"
    parts, index = [], 0
    while index < len(stem):
        run = len(stem) - index - len(stem[index:].lstrip("s")) if stem[index] == "s" else 0
        if 2 <= run <= 5:
            parts.append("(?:" + "|".join(_s_runs(run, _letter("s"), _PAIRS["ss"])) + ")")
            index += run
        elif stem[index : index + 2] in _PAIRS and stem[index : index + 2] != "ss":
            pair = stem[index : index + 2]
            parts.append(f"(?:{_letter(pair[0])}{_letter(pair[1])}|[{_PAIRS[pair]}])")
            index += 2
        else:
            parts.append(_letter(stem[index]))
            index += 1
    return "".join(parts)


def _s_runs(count, s, sharp):
    """Every way to write ``count`` s with single letters and « ß »."""
    if count <= 1:
        return [s] * count or [""]
    return [s + rest for rest in _s_runs(count - 1, s, sharp)] + [
        f"[{sharp}]" + rest for rest in _s_runs(count - 2, s, sharp)
    ]


@lru_cache(maxsize=256)
def _stems_pattern(stems):
    """Any spelling of one of ``stems``, wherever it is: highlight keeps the
    matches that start a word or a part of one (after punctuation). Looking for the
    letters alone is several times faster than asking the pattern to look
    behind at every position."""
    return re.compile("|".join(_spellings(stem) for stem in stems))


_WORD_LETTER = re.compile(r"\w")
_NOT_WORD_LETTER = re.compile(r"\W")


def highlight(text: str, stems: list[str], length: int = 40) -> str:
    """An excerpt of ``text``: the ``length`` words with the most matches of
    ``stems`` (search lexemes), those words in <mark>, everything escaped.

    One regular expression finds the matches in the whole text (a long
    article is read once, in C, and never folded: the pattern knows the
    accented letters); only the excerpt's words are split and escaped."""
    if "  " in text or not text.isprintable() or text[:1] == " " or text[-1:] == " ":
        text = " ".join(text.split())  # only single spaces between words
    if not text:
        return ""
    word_count = text.count(" ") + 1
    stems = sorted({stem for stem in stems if len(stem) >= 2}, key=len, reverse=True)
    hits, offsets = [], []  # the matching words' numbers, where they start
    if stems:
        search = _stems_pattern(tuple(stems)).search
        position = index = 0
        match = search(text)
        while match:
            start = match.start()
            if start and _WORD_LETTER.match(text, start - 1):
                # Inside a word: the next start is after a space or punctuation.
                after = _NOT_WORD_LETTER.search(text, start)
                match = search(text, after.start()) if after else None
                continue
            # A part of a word counts (« l’économie », « porte-avions »): the
            # search index splits words at apostrophes and hyphens too.
            word_start = text.rfind(" ", 0, start) + 1
            index += text.count(" ", position, word_start)
            position = word_start
            hits.append(index)
            offsets.append(word_start)
            word_end = text.find(" ", start)
            match = search(text, word_end) if word_end > 0 else None
    best_start, start_offset = 0, 0
    if hits:
        # The window that starts a little before a hit and holds the most hits.
        best_count = best = 0
        for number, hit in enumerate(hits):
            count = bisect_left(hits, hit + max(1, length - 3)) - bisect_left(hits, hit)
            if count > best_count:
                best, best_count = number, count
        best_start, start_offset = hits[best], offsets[best]
        for _ in range(min(3, best_start)):
            start_offset = text.rfind(" ", 0, start_offset - 1) + 1
            best_start -= 1
    if best_start > max(0, word_count - length):
        best_start = max(0, word_count - length)
        words = text.rsplit(" ", length)[-length:]
    else:
        words = text[start_offset:].split(" ", length)[:length]
    marked = set(hits)
    # Words between two highlights are escaped together (one call, not one a word).
    parts, plain = [], []
    for number, word in enumerate(words, start=best_start):
        if number in marked:
            if plain:
                parts.append(escape(" ".join(plain)))
                plain = []
            parts.append(_marked(word))
        else:
            plain.append(word)
    if plain:
        parts.append(escape(" ".join(plain)))
    prefix = "… " if best_start > 0 else ""
    suffix = " …" if best_start + len(words) < word_count else ""
    return mark_safe(prefix + " ".join(parts) + suffix)


_EDGES = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)


def _marked(word):
    # Punctuation stuck to a word stays outside the highlight.
    before, core, after = _EDGES.match(word).groups()
    return f"{escape(before)}<mark>{escape(core)}</mark>{escape(after)}"
