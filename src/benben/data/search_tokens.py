"""Text split and normalised into the lexemes PostgreSQL's ``to_tsvector`` indexes.

The words of PostgreSQL's default parser (letters, combining marks, digits; hyphenated words
indexed whole and by part; signed numbers; dotted or slashed names such as hosts, versions and
decimals kept whole), lower-cased one character at a time, then each through the language's
dictionary: stop words out (they keep their position), other words Snowball-stemmed; words
with digits and dotted names only lower-cased, as PostgreSQL's configurations map them to the
``simple`` dictionary. Each lexeme becomes one FTS5 token (see search_text.py).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources

import snowballstemmer

# The languages PostgreSQL has a built-in text search configuration for (pg_ts_config) and
# Snowball a stemmer for: PostgreSQL's <language>_stem dictionaries are those stemmers.
SEARCH_LANGUAGES: tuple[str, ...] = (
    "simple",
    "arabic",
    "armenian",
    "basque",
    "catalan",
    "danish",
    "dutch",
    "english",
    "finnish",
    "french",
    "german",
    "greek",
    "hindi",
    "hungarian",
    "indonesian",
    "irish",
    "italian",
    "lithuanian",
    "nepali",
    "norwegian",
    "portuguese",
    "romanian",
    "russian",
    "serbian",
    "spanish",
    "swedish",
    "tamil",
    "turkish",
    "yiddish",
)
# PostgreSQL's configurations for these languages map all-ASCII words to english_stem.
_ASCII_WORDS_IN_ENGLISH = frozenset({"hindi", "russian"})

# A stop word keeps its position (PostgreSQL counts it: "cat on the mat" is 'cat' <3> 'mat'),
# as this token, so that phrases match over the same gaps.
STOP_TOKEN = "\ue000"  # noqa: S105 (a token, not a password)
# Lexemes with punctuation ("well-known", "3.14", "and/or") are one token in FTS5 as in
# PostgreSQL: the punctuation becomes private use characters, which unicode61 keeps in tokens.
_PUNCTUATION_IN_TOKENS = str.maketrans({"-": "\ue011", ".": "\ue012", "/": "\ue013"})
# PostgreSQL lower-cases one character at a time: a capital sigma is always a small sigma,
# never a final one, and a dotted capital I is i.
_LOWER_LIKE_POSTGRESQL = str.maketrans(
    {
        "\N{GREEK CAPITAL LETTER SIGMA}": "\N{GREEK SMALL LETTER SIGMA}",
        "\N{LATIN CAPITAL LETTER I WITH DOT ABOVE}": "i",
    }
)
# PostgreSQL neither stems words over 1000 bytes nor indexes words over 2047 (UTF-8 has at
# most 4 bytes a character: shorter strings need no encoding to know).
_LONGEST_STEMMED = 1000
_LONGEST_INDEXED = 2047
_DIGITS = re.compile(r"[0-9]")
# Combining marks are letters to PostgreSQL (glibc's iswalpha) but not to Python's \w; those
# of the planes where scripts live (the rest would cost the first call ~0.2 s for nothing).
_MARK_PLANES = (range(0x20000), range(0xE0000, 0xE1000))


@dataclass(frozen=True)
class Token:
    """One position of the text: its FTS5 token (STOP_TOKEN for a stop word) and where its
    word is in the text."""

    token: str
    start: int
    end: int


@functools.cache
def _token_pattern() -> re.Pattern[str]:
    marks = "".join(f"{chr(start)}-{chr(end)}" for start, end in _mark_ranges())
    word = rf"(?:[^\W_]|[{marks}])+"
    dotted = rf"{word}(?:[./]{word})+"
    return re.compile(rf"(?P<dotted>-?{dotted})|-?{word}(?:-{word})*")


def _mark_ranges() -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for plane in _MARK_PLANES:
        for code in plane:
            if unicodedata.category(chr(code))[0] != "M":
                continue
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return ranges


@dataclass(frozen=True)
class _Dictionaries:
    """A language's dictionaries: a lexeme, or None for a stop word, for a lower-cased word."""

    word: Callable[[str], str | None]
    ascii_word: Callable[[str], str | None]


@functools.cache
def _dictionaries(language: str) -> _Dictionaries:
    if language not in SEARCH_LANGUAGES:
        raise ValueError(f"unknown search language {language!r}")
    if language == "simple":
        return _Dictionaries(_same, _same)
    stem = _snowball_dictionary(language)
    ascii_stem = _snowball_dictionary("english") if language in _ASCII_WORDS_IN_ENGLISH else stem
    return _Dictionaries(stem, ascii_stem)


def _same(word: str) -> str:
    return word


@functools.cache
def _snowball_dictionary(language: str) -> Callable[[str], str | None]:
    """PostgreSQL's dict_snowball: stop words first, then the stem of words up to 1000 bytes."""
    stemmer = snowballstemmer.stemmer(language)
    stop_words = _stop_words(language)

    # Word frequencies are skewed: most words of a text were stemmed before.
    @functools.lru_cache(maxsize=65536)
    def lexeme(word: str) -> str | None:
        if len(word) > _LONGEST_STEMMED // 4 and len(word.encode()) > _LONGEST_STEMMED:
            return word
        if word in stop_words:
            return None
        return stemmer.stemWord(word)

    return lexeme


def _stop_words(language: str) -> frozenset[str]:
    stop_file = resources.files("benben.data").joinpath(f"stopwords/{language}.stop")
    if not stop_file.is_file():
        return frozenset()
    lines = stop_file.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip())


def _lower(text: str) -> str:
    if not text.isascii():
        text = text.translate(_LOWER_LIKE_POSTGRESQL)
    return text.lower()


def _too_long(word: str) -> bool:
    return len(word) > _LONGEST_INDEXED // 4 and len(word.encode()) > _LONGEST_INDEXED


def tokens(text: str, language: str) -> Iterator[Token]:
    """The text's positions as PostgreSQL's ``to_tsvector(language, text)`` numbers them."""
    dictionaries = _dictionaries(language)

    def lexeme(word: str, start: int) -> Token | None:
        if _too_long(word):
            return None
        lowered = _lower(word)
        if _DIGITS.search(word):
            found: str | None = lowered
        elif word.isascii():
            found = dictionaries.ascii_word(lowered)
        else:
            found = dictionaries.word(lowered)
        token = STOP_TOKEN if found is None else found.translate(_PUNCTUATION_IN_TOKENS)
        return Token(token, start, start + len(word))

    for match in _token_pattern().finditer(text):
        start, segment = match.start(), match.group()
        if match.lastgroup == "dotted":
            # A host, file name, version or decimal number: one lexeme, never stemmed.
            if segment[0] == "-" and not segment[1].isdigit():
                start, segment = start + 1, segment[1:]
            if not _too_long(segment):
                token = _lower(segment).translate(_PUNCTUATION_IN_TOKENS)
                yield Token(token, start, start + len(segment))
        elif "-" not in segment:
            found = lexeme(segment, start)
            if found is not None:
                yield found
        else:
            yield from _hyphenated(segment, start, lexeme)


def _hyphenated(
    segment: str, start: int, lexeme: Callable[[str, int], Token | None]
) -> Iterator[Token]:
    """A segment like "well-known", "-5" or "covid-19": numbers take the hyphen before them as
    their sign; runs of parts with letters are hyphenated words, indexed whole then by part."""
    parts: list[tuple[str, int]] = []  # (part, its start), numbers with their sign
    offset = start
    for part in segment.split("-"):
        if part:
            signed = offset > start and part.isdigit()
            parts.append((f"-{part}" if signed else part, offset - 1 if signed else offset))
        offset += len(part) + 1
    run: list[tuple[str, int]] = []
    for part, part_start in [*parts, ("", -1)]:
        if part and not part.lstrip("-").isdigit():
            run.append((part, part_start))
            continue
        found_whole = None
        if len(run) > 1:
            found_whole = lexeme("-".join(piece for piece, _ in run), run[0][1])
        if found_whole is not None:
            last, last_start = run[-1]
            yield Token(found_whole.token, run[0][1], last_start + len(last))
        for piece, piece_start in run:
            found = lexeme(piece, piece_start)
            if found is not None:
                yield found
        run = []
        if part:
            found = lexeme(part, part_start)
            if found is not None:
                yield found
