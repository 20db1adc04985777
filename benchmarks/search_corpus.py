"""The records benchmarks/search.py searches: deterministic, realistic enough to search.

A vocabulary ranked like a language's (English stop words and common words first, then a long
tail of made-up words), drawn with a Zipf-like law; each record has a title of 3-8 words, a body
of 50-200 words in sentences, and an author. A few fixed two-word phrases are inserted into one
body in ten, so that a phrase query finds records whose two words are adjacent, not merely
present (each word of a phrase is also common on its own).
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

# Frequent words first, the way running English text ranks them (stop words among them).
_HEAD = """the of and to a in is that for it as was with be by on not he this are or his from at
which but have an they you were her she there been one all we their has would when if so no will
more can who said time new year people way water day man world life work city part system group
number house government company market school family state history music power health river
light model game money story research energy field food service garden book data country road
night student police news train paper team island church war art science design report
problem program question village language art body plan lake mountain table office computer
studio forest coast bridge street station letter season film camera kitchen coffee bread
machine learning open source climate change public transport real network engine"""
HEAD = _HEAD.split()
# Phrases found as such in one body in ten; their words are in HEAD, so also found apart.
PHRASES = ("machine learning", "open source", "climate change", "public transport")
_SYLLABLES = "ka lo mi ne ru sa te vo zu ba de fi go hu ja ke li mo nu pa ri so tu ve wa xi yo"
SYLLABLES = _SYLLABLES.split()
_FIRST = "Ada Alan Grace Linus Margaret Ken Barbara Donald Frances Edsger Radia Tim"
_LAST = "Lovelace Turing Hopper Torvalds Hamilton Thompson Liskov Knuth Allen Perlman"
FIRST_NAMES, LAST_NAMES = _FIRST.split(), _LAST.split()


def _tail_words(count: int, rng: random.Random) -> list[str]:
    """Made-up words of 2-4 syllables, distinct and distinct from HEAD."""
    seen = set(HEAD)
    words: list[str] = []
    while len(words) < count:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


@dataclass
class Corpus:
    """``records(n)`` yields ``n`` records; ``document_frequency`` counts, per word, the
    records (of those yielded so far) whose body or title has it."""

    seed: int = 19
    vocabulary_size: int = 30_000
    document_frequency: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self.vocabulary = list(dict.fromkeys(HEAD))
        self.vocabulary += _tail_words(self.vocabulary_size - len(self.vocabulary), self._rng)
        # Zipf-Mandelbrot: the r-th word's weight 1 / (r + 2.7).
        weights = (1 / (rank + 2.7) for rank in range(1, len(self.vocabulary) + 1))
        self._cumulative = list(itertools.accumulate(weights))

    def _words(self, count: int) -> list[str]:
        return self._rng.choices(self.vocabulary, cum_weights=self._cumulative, k=count)

    def _sentences(self, words: list[str]) -> str:
        sentences, start = [], 0
        while start < len(words):
            end = start + self._rng.randint(6, 16)
            chunk = words[start:end]
            sentences.append(" ".join([chunk[0].capitalize(), *chunk[1:]]) + ".")
            start = end
        return " ".join(sentences)

    def record(self) -> dict[str, Any]:
        rng = self._rng
        title = self._words(rng.randint(3, 8))
        body = self._words(rng.randint(50, 200))
        if rng.random() < 0.1:
            at = rng.randrange(len(body))
            body[at : at + 1] = rng.choice(PHRASES).split()
        self.document_frequency.update(set(title) | set(body))
        return {
            "title": " ".join(word.capitalize() for word in title),
            "body": self._sentences(body),
            "author": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            "year": rng.randint(1990, 2026),
        }

    def records(self, count: int) -> Iterator[dict[str, Any]]:
        for _ in range(count):
            yield self.record()

    def rare_word(self, records: int) -> str:
        """A made-up word found in about one record in 2,000 (at least one)."""
        target = max(1, records // 2000)
        tail = self.vocabulary[len(HEAD) :]
        found = [word for word in tail if self.document_frequency[word] > 0]
        return min(found, key=lambda word: (abs(self.document_frequency[word] - target), word))
