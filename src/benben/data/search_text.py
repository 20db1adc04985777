"""Full-text search's text in Python: what SQLite's FTS5 stores and matches, and highlights.

PostgreSQL searches with ``to_tsvector(language, text) @@ websearch_to_tsquery(language, q)``.
SQLite has FTS5 but neither PostgreSQL's parser, stop words nor Snowball stemmers, so the text
goes through this module: ``document_text`` turns a record's searchable values into the lexemes
PostgreSQL indexes (search_tokens.py), one FTS5 token each, and ``fts5_query`` turns a query
into an FTS5 MATCH expression over those tokens, parsed the way ``websearch_to_tsquery`` parses
it. ``highlight`` marks the matching words of a text, the same on both backends.
docs/search.md says what still differs (URLs, e-mail addresses, XML tags...).

The FTS5 table tokenizes with ``unicode61 remove_diacritics 0``: it must keep the private use
characters (category Co, kept by default) that the tokens use for punctuation and placeholders.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass

from benben.data.search_tokens import SEARCH_LANGUAGES, STOP_TOKEN, Token, lexemes, tokens

__all__ = ["SEARCH_LANGUAGES", "document_text", "fts5_query", "highlight"]

# Every document starts with this token: a query of exclusions alone ("-cat") matches every
# record without the word, as on PostgreSQL, and FTS5's NOT needs something on its left.
ALL_TOKEN = "\ue001"  # noqa: S105 (a token, not a password)
# Characters websearch_to_tsquery skips between operands, and that end a word.
_OPERATORS = frozenset("!&|()<")
_WORD_ENDS = frozenset('!&|()<":')


def document_text(values: Iterable[str], language: str) -> str:
    """What the FTS5 table stores for a record whose searchable fields hold ``values``: the
    lexemes of PostgreSQL's ``to_tsvector(language, <the values joined by spaces>)`` in order,
    stop words as a placeholder, after a token every document has. Store it even when there
    are no values (exclusions alone match such records, as on PostgreSQL)."""
    return " ".join([ALL_TOKEN, *lexemes(" ".join(values), language)])


@dataclass(frozen=True)
class _Operand:
    """A word or a quoted phrase of the query, excluded or not."""

    text: str
    excluded: bool


def _websearch(q: str) -> list[list[_Operand]]:
    """The query's operands as websearch_to_tsquery parses them: alternatives (``or``) of
    operands all required (excluded ones with ``-``). It never fails: stray quotes,
    operators and punctuation are skipped as PostgreSQL skips them."""
    alternatives: list[list[_Operand]] = [[]]
    excluded = False
    index, end = 0, len(q)
    waiting_operand = True
    while index < end or not waiting_operand:
        char = q[index] if index < end else ""
        if waiting_operand:
            if char == "-":
                excluded, index = not excluded, index + 1
            elif char == '"':
                closing = q.find('"', index + 1)
                closing = end if closing < 0 else closing
                alternatives[-1].append(_Operand(q[index + 1 : closing], excluded))
                excluded, index, waiting_operand = False, closing + 1, False
            elif char in _OPERATORS or char.isspace():
                index += 1
            else:
                # The first character is the word's whatever it is; then up to a space, an
                # operator, a quote or a colon.
                word_end = index + 1
                while word_end < end and not (q[word_end] in _WORD_ENDS or q[word_end].isspace()):
                    word_end += 1
                alternatives[-1].append(_Operand(q[index:word_end], excluded))
                excluded, index, waiting_operand = False, word_end, False
        elif char == '"':
            waiting_operand = True  # an implicit AND before the phrase
        elif _is_or(q, index):
            alternatives.append([])
            index, waiting_operand = index + 2, True
        elif char == "":
            break
        elif not char.isspace():
            waiting_operand = True  # an implicit AND
        else:
            index += 1
    return alternatives


def _is_or(q: str, index: int) -> bool:
    """PostgreSQL's parse_or_operator: "or" in any case, not part of a word, and something
    other than spaces after it."""
    if q[index : index + 2].lower() != "or" or index + 2 >= len(q):
        return False
    following = q[index + 2]
    if following in "-_" or following.isalnum():
        return False
    return bool(q[index + 3 :].strip())


def _phrase(operand: _Operand, language: str) -> list[str]:
    """The operand's tokens as one phrase; stop words at its ends dropped, as PostgreSQL drops
    them ([] when nothing but stop words or punctuation remains: the operand is ignored)."""
    found = lexemes(operand.text, language)
    first = next((i for i, token in enumerate(found) if token != STOP_TOKEN), len(found))
    while found and found[-1] == STOP_TOKEN:
        found.pop()
    return found[first:]


def _fts5_phrase(phrase: list[str]) -> str:
    # Tokens never hold a double quote: any user text is a string, never FTS5 syntax.
    return '"' + " ".join(phrase) + '"'


def fts5_query(q: str, language: str) -> str | None:
    """``websearch_to_tsquery(language, q)`` as an FTS5 MATCH expression over the tokens
    ``document_text`` stores; None when the query has no searchable term (PostgreSQL's empty
    query, which matches nothing)."""
    alternatives = []
    for operands in _websearch(q):
        required, excluded = [], []
        for operand in operands:
            phrase = _phrase(operand, language)
            if phrase:
                (excluded if operand.excluded else required).append(_fts5_phrase(phrase))
        if not required and not excluded:
            continue
        expression = " AND ".join(required) if required else _fts5_phrase([ALL_TOKEN])
        if excluded:
            expression = f"({expression}) NOT ({' OR '.join(excluded)})"
        alternatives.append(f"({expression})")
    return " OR ".join(alternatives) or None


def query_terms(q: str, language: str) -> frozenset[str]:
    """The tokens that the query searches for (not the excluded ones)."""
    return frozenset(
        token
        for operands in _websearch(q)
        for operand in operands
        if not operand.excluded
        for token in _phrase(operand, language)
        if token != STOP_TOKEN
    )


def highlight(
    text: str, q: str, language: str, *, fragments: int = 2, width: int = 30
) -> list[str]:
    """Up to ``fragments`` fragments of ``text`` of about ``width`` words around the words
    matching the query's searched (not excluded) terms: HTML-escaped, each match in
    <mark>...</mark>, "…" where the text was cut. [] when nothing matches."""
    terms = query_terms(q, language)
    if not terms:
        return []
    words = list(tokens(text, language))
    matched = [index for index, word in enumerate(words) if word.token in terms]
    if not matched:
        return []
    marks = _merged([(words[index].start, words[index].end) for index in matched])
    return [
        _fragment(text, words, first, last, marks)
        for first, last in _best_windows(matched, len(words), fragments, width)
    ]


def _best_windows(
    matched: list[int], word_count: int, fragments: int, width: int
) -> list[tuple[int, int]]:
    """Windows of ``width`` words (first and last index) holding the most matches, starting a
    few words before a match, not overlapping, in text order."""
    lead = width // 4
    candidates = []
    for index in matched:
        first = max(0, min(index - lead, word_count - width))
        last = min(word_count, first + width) - 1
        hits = sum(1 for other in matched if first <= other <= last)
        candidates.append((-hits, first, last))
    chosen: list[tuple[int, int]] = []
    for _, first, last in sorted(candidates):
        if len(chosen) == fragments:
            break
        if all(last < taken_first or first > taken_last for taken_first, taken_last in chosen):
            chosen.append((first, last))
    return sorted(chosen)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans sorted, overlapping ones (a hyphenated word and its parts) merged."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _fragment(
    text: str, words: list[Token], first: int, last: int, marks: list[tuple[int, int]]
) -> str:
    start = 0 if first == 0 else words[first].start
    end = len(text) if last == len(words) - 1 else words[last].end
    pieces = ["…"] if start > 0 else []
    position = start
    for mark_start, mark_end in marks:
        if mark_end <= start or mark_start >= end:
            continue
        mark_start, mark_end = max(mark_start, start), min(mark_end, end)
        pieces += [html.escape(text[position:mark_start]), "<mark>"]
        pieces += [html.escape(text[mark_start:mark_end]), "</mark>"]
        position = mark_end
    pieces.append(html.escape(text[position:end]))
    if end < len(text):
        pieces.append("…")
    return "".join(pieces).strip()
