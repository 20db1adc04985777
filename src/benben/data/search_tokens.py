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
from pathlib import Path
from typing import NamedTuple

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
# Snowball's name of the algorithm PostgreSQL's <language>_stem is, where they differ.
_SNOWBALL_ALGORITHMS = {"dutch": "dutch_porter"}
# PostgreSQL's configurations for these languages map all-ASCII words to english_stem.
_ASCII_WORDS_IN_ENGLISH = frozenset({"hindi", "russian"})

# A stop word keeps its position (PostgreSQL counts it: "cat on the mat" is 'cat' <3> 'mat'),
# as this token, so that phrases match over the same gaps.
STOP_TOKEN = "\ue000"  # noqa: S105 (a token, not a password)
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
# PostgreSQL's stop word lists, vendored (see its LICENSE); languages without one have none.
_STOP_WORDS = Path(__file__).with_name("stopwords")
_DIGITS = re.compile(r"[0-9]")
_NOT_A_WORD = ""
_OPENING, _CLOSING = "(\"'", ")\"',.;:!?"
# ASCII text without these has only plain words, runs of letters and digits (see _joined).
_JOINING = "-+/@<&"
_DOT_JOINING = re.compile(r"\.[A-Za-z0-9_]")
_ASCII_SEPARATORS = bytes(code if chr(code).isalnum() and code < 128 else 32 for code in range(256))
# Words whose token a language's lexicon keeps, at most (about 10 MB).
_LEXICON_SIZE = 1 << 16
# The planes where scripts live: looking through the others for combining marks would cost
# the first call ~0.2 s for nothing.
_SCRIPT_PLANES = (range(0x20000), range(0xE0000, 0xE1000))


class Token(NamedTuple):
    """One position of the text: its FTS5 token (STOP_TOKEN for a stop word) and where its
    word is in the text."""

    token: str
    start: int
    end: int


@dataclass(frozen=True)
class _Alphabet:
    """How text splits into PostgreSQL's tokens, and how a lexeme becomes one FTS5 token."""

    ascii_pattern: re.Pattern[str]
    pattern: re.Pattern[str]
    # ½, ² or ① are neither letters nor digits to PostgreSQL (they are to Python's \w): they
    # become spaces before the text is split.
    other_numbers: dict[int, str]
    # Lexemes keep punctuation ("well-known", "3.14", "and/or", e-mail addresses) and combining
    # marks, which unicode61 splits tokens at: those become private use characters (kept, and
    # never in a word), one for each, so that a lexeme is one FTS5 token.
    fts5_characters: dict[int, str]


@functools.cache
def _alphabet() -> _Alphabet:
    punctuation = [chr(code) for code in range(0x21, 0x7F) if not chr(code).isalnum()]
    fts5_characters = {ord(char): chr(0xE100 + ord(char)) for char in punctuation}
    mark_codes = [code for start, end in _code_ranges("M") for code in range(start, end + 1)]
    fts5_characters |= {code: chr(0xF0000 + index) for index, code in enumerate(mark_codes)}
    other_numbers = {
        code: " " for start, end in _code_ranges("No") for code in range(start, end + 1)
    }
    return _Alphabet(
        # Most text is ASCII: its character classes are small, ~3 times faster to match.
        re.compile(_pattern("[A-Za-z0-9]++"), re.DOTALL),
        # Letters and digits, and combining marks (letters to glibc's iswalpha).
        re.compile(_pattern(rf"(?:[^\W_]++|[{_ranges('M')}]++)++"), re.DOTALL),
        other_numbers,
        fts5_characters,
    )


def _pattern(words: str) -> str:
    sign = r"(?:[-+](?=[0-9]))"
    ascii, file_ascii = "[A-Za-z0-9]++", "[A-Za-z0-9_]++"
    return "|".join(
        [
            # Most words: nothing joined to them.
            rf"(?P<plain>{words}(?![-./@][^\W_]|://))",
            # Not indexed: XML tags and entities, protocols of URLs.
            r"(?P<skipped><!--.*?-->|</?[A-Za-z][^<>]*>|&(?:#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z]"
            r"[A-Za-z0-9]*);|[A-Za-z]+://)",
            # E-mail addresses, URLs (the whole, the host, the path), host and file names,
            # versions, decimal numbers: ASCII, one lexeme each, never stemmed.
            rf"(?P<simple>{ascii}(?:[._-]{ascii})*@{ascii}(?:[.-]{ascii})*\.{ascii})",
            rf"(?P<url>(?P<host>{ascii}(?:\.{ascii})*\.[A-Za-z]{{2,}})"
            r"(?P<path>/[!#-;=?-\[\]_a-z~]+))",
            rf"(?P<dotted>(?:{sign}|/)?{ascii}(?:[./]{file_ascii})+|/{file_ascii})",
            # Numbers with a sign, then words with hyphens.
            r"(?P<number>[-+][0-9]++)",
            rf"{words}(?:-{words})*",
        ]
    )


def _ranges(category: str) -> str:
    """A regular expression character class's ranges of the category's characters."""
    return "".join(f"{chr(start)}-{chr(end)}" for start, end in _code_ranges(category))


@functools.cache
def _code_ranges(category: str) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for plane in _SCRIPT_PLANES:
        for code in plane:
            if not unicodedata.category(chr(code)).startswith(category):
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
    # Snowball 3 replaced its Dutch stemmer; PostgreSQL's dutch_stem is the former one.
    stemmer = snowballstemmer.stemmer(_SNOWBALL_ALGORITHMS.get(language, language))
    stop_words = _stop_words(language)

    def lexeme(word: str) -> str | None:
        if len(word) > _LONGEST_STEMMED // 4 and len(word.encode()) > _LONGEST_STEMMED:
            return word
        if word in stop_words:
            return None
        return stemmer.stemWord(word)

    return lexeme


def _stop_words(language: str) -> frozenset[str]:
    stop_file = _STOP_WORDS / f"{language}.stop"
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


@functools.cache
def _word_tokens(language: str) -> Callable[[str], str | None]:
    """A word's FTS5 token through the language's dictionaries (STOP_TOKEN for a stop word;
    None: too long to be indexed; _NOT_A_WORD: it holds ½, ² or the like); only lower-cased when
    it has digits."""
    dictionaries = _dictionaries(language)

    # Word frequencies are skewed: most words of a text were seen before.
    @functools.lru_cache(maxsize=1 << 16)
    def word_token(word: str) -> str | None:
        if _too_long(word):
            return None
        if not word.isascii() and any(unicodedata.category(char) == "No" for char in word):
            return _NOT_A_WORD
        lowered = _lower(word)
        if _DIGITS.search(word):
            found: str | None = lowered
        elif word.isascii():
            found = dictionaries.ascii_word(lowered)
        else:
            found = dictionaries.word(lowered)
        return STOP_TOKEN if found is None else _fts5(found)

    return word_token


class _Lexicon:
    """A language's FTS5 token of each word seen, in a dict: looked up by the C-level ``map``
    over a text's words, not by a Python call per word (most words of a text were seen)."""

    def __init__(self, language: str) -> None:
        self._word_token = _word_tokens(language)
        self._known: dict[str, str] = {}

    def tokens(self, words: list[str]) -> list[str]:
        """The words' tokens, in order; too long words left out, as tokens() leaves them."""
        found = list(map(self._known.get, words))
        if None not in found:
            return found  # type: ignore[return-value]  # no None in it
        known = self._known
        for index, token in enumerate(found):
            if token is None:
                word = words[index]
                token = found[index] = self._word_token(word)
                if token is not None:
                    if len(known) >= _LEXICON_SIZE:
                        known.clear()  # the frequent words are back at once
                    known[word] = token
        return [token for token in found if token is not None]


@functools.cache
def _lexicon(language: str) -> _Lexicon:
    return _Lexicon(language)


def _fts5(lexeme: str) -> str:
    return lexeme if lexeme.isalnum() else lexeme.translate(_alphabet().fts5_characters)


def lexemes(text: str, language: str) -> list[str]:
    """The FTS5 tokens of ``tokens(text, language)``, faster: most words stand between spaces
    alone, and need no regular expression."""
    if text.isascii() and not _joined(text):
        # Every run of letters and digits is a plain word: the rest become spaces, in C.
        words = text.encode().translate(_ASCII_SEPARATORS).decode().split()
        return _lexicon(language).tokens(words)
    if "<" in text:
        return [token.token for token in tokens(text, language)]  # tags may hold spaces
    word_token = _word_tokens(language)
    found: list[str] = []
    for chunk in text.split():
        # Quotes, brackets and punctuation ending a sentence separate words, nothing more.
        word = chunk.lstrip(_OPENING).rstrip(_CLOSING)
        token = word_token(word) if word.isalnum() else _NOT_A_WORD
        if token == _NOT_A_WORD:
            found += [token.token for token in tokens(chunk, language)]
        elif token is not None:
            found.append(token)
    return found


def _joined(text: str) -> bool:
    """Whether ASCII text may hold more than plain words: a character that joins words (URLs,
    e-mail addresses, hyphens, signs, paths), starts a tag or an entity, or a dot before a word
    character (host names, versions, decimals). A dot ending a sentence joins nothing."""
    return any(char in text for char in _JOINING) or (
        "." in text and _DOT_JOINING.search(text) is not None
    )


def tokens(text: str, language: str) -> Iterator[Token]:
    """The text's positions as PostgreSQL's ``to_tsvector(language, text)`` numbers them."""
    alphabet = _alphabet()
    if text.isascii():
        pattern = alphabet.ascii_pattern
    else:
        pattern, text = alphabet.pattern, text.translate(alphabet.other_numbers)
    return _scan(text, pattern, _word_tokens(language))


def _scan(
    text: str, pattern: re.Pattern[str], word_token: Callable[[str], str | None]
) -> Iterator[Token]:
    for match in pattern.finditer(text):
        kind = match.lastgroup
        if kind == "plain":
            token = word_token(match.group())
            if token is not None:
                yield Token(token, *match.span())
        elif kind in ("simple", "dotted", "number"):
            yield from _simple(match.group(), match.start())
        elif kind == "url":
            yield from _simple(match.group(), match.start())
            yield from _simple(match["host"], match.start())
            yield from _simple(match["path"], match.start("path"))
        elif kind is None:
            yield from _hyphenated(match.group(), match.start(), word_token)


def _simple(segment: str, start: int) -> Iterator[Token]:
    if not _too_long(segment):
        yield Token(_fts5(_lower(segment)), start, start + len(segment))


def _hyphenated(
    segment: str, start: int, word_token: Callable[[str], str | None]
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
        if len(run) > 1:
            whole = word_token("-".join(piece for piece, _ in run))
            if whole is not None:
                last, last_start = run[-1]
                yield Token(whole, run[0][1], last_start + len(last))
        for piece, piece_start in run:
            token = word_token(piece)
            if token is not None:
                yield Token(token, piece_start, piece_start + len(piece))
        run = []
        if part:
            token = word_token(part)
            if token is not None:
                yield Token(token, part_start, part_start + len(part))
