"""The shell snippets of a documentation page: fenced ``sh``/``bash``/``shell`` blocks (indented
ones in list items too) and the marker on the line before each (``<!-- snippet: skip (why) -->``,
``<!-- snippet: expect 412 -->``). Read by tests/test_docs_snippets.py, which runs the pages
against a live server, and tests/sdk/test_tutorial.py, which runs the plugin tutorial in a fresh
virtual environment."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)[ \t]*$")
_MARKER = re.compile(r"^\s*<!--\s*snippet:\s*(?P<what>.*?)\s*-->\s*$")
_SKIP = re.compile(r"^skip \((?P<reason>[^)]+)\)$")
_EXPECT = re.compile(r"^expect (?P<codes>4\d\d(?:,\s*4\d\d)*)$")
SHELLS = {"sh", "bash", "shell"}


@dataclass(frozen=True)
class Snippet:
    page: str
    line: int  # of the opening fence, 1-based
    code: str
    skip: str | None = None  # the reason
    expect: tuple[int, ...] = ()

    def __str__(self) -> str:
        return f"{self.page}:{self.line}"


def snippets(page: str) -> list[Snippet]:
    """The page's shell blocks; a malformed marker is an error, not a block run by accident."""
    lines = (ROOT / page).read_text(encoding="utf-8").splitlines()
    found: list[Snippet] = []
    index = 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if not fence or not fence["lang"]:
            index += 1
            continue
        indent, start = fence["indent"], index
        index += 1
        while index < len(lines) and lines[index].strip() != "```":
            index += 1
        if fence["lang"] not in SHELLS:
            index += 1
            continue
        body = [line.removeprefix(indent) for line in lines[start + 1 : index]]
        marker = _MARKER.match(lines[start - 1]) if start else None
        skip, expect = None, ()
        if marker:
            if skipped := _SKIP.match(marker["what"]):
                skip = skipped["reason"]
            elif expected := _EXPECT.match(marker["what"]):
                expect = tuple(int(code) for code in re.split(r",\s*", expected["codes"]))
            else:
                raise AssertionError(f"{page}:{start}: unknown marker {marker['what']!r}")
        found.append(Snippet(page, start + 1, "\n".join(body) + "\n", skip, expect))
        index += 1
    return found
