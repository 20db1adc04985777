"""Every shell snippet of the docs runs, so that the docs cannot drift from what Benben does.

Pages: README.md and docs/**/*.md. Snippets: fenced blocks marked ``sh``, ``bash`` or ``shell``,
indented ones (in list items) included. A page's snippets run in order in one bash session, so
that a variable set by one is there for the next, against a live ``benben serve`` of the page's
own: a real process on a free loopback port, on the embedded default, in a scratch directory
laid out like a clone (``.venv``, the ini files, ``conf/``; ``./var`` empty at first). Each page
starts from a fresh instance, as its reader does: the quick start creates the first
administrator itself.

Markers, an HTML comment on the line just before the fence (the rendered page does not show it):

- ``<!-- snippet: skip (why) -->``: not run, for the reason given (a reason is required): it
  installs from the network, needs docker, Kubernetes or a production database, starts a server
  of its own, or prompts;
- ``<!-- snippet: expect 412 -->``: the snippet shows an error: the 4xx statuses listed are
  allowed, and each must be answered at least once.

A snippet can count on:

- ``http://127.0.0.1:6543`` and ``http://localhost:6543`` meaning the page's server;
- ``benben`` on PATH, ``.venv/bin/benben``, ``jq``, and cheap password hashing;
- the page's prelude (``PRELUDES``, by default ``LOGGED_IN``: the administrator ``admin`` with
  the password ``correct horse battery staple``, logged in: ``$ACCESS_TOKEN``,
  ``$REFRESH_TOKEN``, ``$USER_ID``), and ``AFTER`` hooks run after a snippet containing a given
  text (a logout is followed by a new login).

It fails when any command fails (``set -euo pipefail``: an unset variable too), and when an
answer is a 5xx, no answer at all, or a 4xx its marker does not expect (``curl`` is a function
recording each answer's status). A fence with no marker runs: nothing is left out silently.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benben.testing_auth import DEFAULT_PASSWORD, FAST_PASSWORD_HASHING
from cli.cli_support import Server, benben_command, clean_environ, free_port
from doc_snippets import Snippet, snippets

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
# The plugin tutorial has a runner of its own: tests/sdk/test_tutorial.py (a fresh venv).
OWN_RUNNERS = {"docs/tutorial-plugin.md"}
PAGES = [
    "README.md",
    *sorted(
        page
        for page in (str(p.relative_to(ROOT)) for p in ROOT.glob("docs/**/*.md"))
        if page not in OWN_RUNNERS
    ),
]
DOCUMENTED_URLS = ("http://127.0.0.1:6543", "http://localhost:6543")
SESSION_TIMEOUT = 120  # seconds for a page's whole session


LOGIN = f"""
snippet_login() {{
  local pair
  pair=$(jq -n --arg p "$ADMIN_PASSWORD" '{{username: "admin", password: $p}}' |
    command curl -sS --fail-with-body -X POST "$BENBEN_URL/api/v1/auth/login" \\
      -H 'Content-Type: application/json' -d @-)
  ACCESS_TOKEN=$(jq -r .access_token <<<"$pair")
  REFRESH_TOKEN=$(jq -r .refresh_token <<<"$pair")
}}
export ADMIN_PASSWORD='{DEFAULT_PASSWORD}'
"""
LOGGED_IN = (
    LOGIN
    + """
benben users create --admin admin --password-env ADMIN_PASSWORD >/dev/null
snippet_login
USER_ID=$(command curl -sS --fail-with-body "$BENBEN_URL/api/v1/auth/me" \\
  -H "Authorization: Bearer $ACCESS_TOKEN" | jq -r .user.id)
"""
)
# The quick start begins on an empty instance: it creates the administrator and logs in itself.
PRELUDES = {"docs/quickstart.md": ""}
AFTER = {"docs/security.md": {"/api/v1/auth/logout": "snippet_login"}}

SESSION = r"""
set -o pipefail
curl() {  # records the final status of each answer (none: 000) in $SNIPPET_STATUS
  local headers rc=0
  headers=$(mktemp)
  command curl -D "$headers" "$@" || rc=$?
  awk '/^HTTP\//{code=$2} END{print (code ? code : "000")}' "$headers" >>"$SNIPPET_STATUS"
  rm -f "$headers"
  return $rc
}
"""


def test_every_snippet_runs_or_says_why_not() -> None:
    """The inventory: the pages hold shell snippets, most of which run."""
    every = [snippet for page in PAGES for snippet in snippets(page)]
    ran = [snippet for snippet in every if snippet.skip is None]
    skipped = [snippet for snippet in every if snippet.skip is not None]
    print(f"{len(ran)} snippets run, {len(skipped)} skipped:")
    for snippet in skipped:
        print(f"  {snippet}: {snippet.skip}")
    assert len(ran) >= 20
    assert {snippet.page for snippet in ran} >= {"README.md", "docs/quickstart.md"}


def test_markers_are_checked(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- snippet: skip -->\n```sh\nls\n```\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="unknown marker 'skip'"):
        snippets(str(page))  # ROOT / absolute path is the path itself


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A directory laid out like a clone with the README's install done."""
    (tmp_path / ".venv").symlink_to(sys.prefix)
    for name in ("development.ini", "production.ini", "conf"):
        (tmp_path / name).symlink_to(ROOT / name)
    return tmp_path


@pytest.mark.parametrize("page", [p for p in PAGES if any(not s.skip for s in snippets(p))])
def test_page_snippets_run(page: str, clone: Path) -> None:
    runnable = [snippet for snippet in snippets(page) if snippet.skip is None]
    environ = clean_environ(
        **{
            f"BENBEN_{key[len('benben.') :].replace('.', '_').upper()}": value
            for key, value in FAST_PASSWORD_HASHING.items()
        }
    )
    environ["PATH"] = f"{Path(sys.prefix) / 'bin'}{os.pathsep}{environ.get('PATH', '')}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = Server(benben_command("serve", "--port", str(port)), clone, environ)
    try:
        server.wait_ready(f"{url}/health/live")
        script = _session(page, runnable, clone, url)
        result = subprocess.run(
            ["bash", "-c", script],
            cwd=clone,
            env={**environ, "BENBEN_URL": url},
            capture_output=True,
            text=True,
            timeout=SESSION_TIMEOUT,
            check=False,
        )
        _check(runnable, result, clone, server)
    finally:
        server.stop()


def _session(page: str, runnable: list[Snippet], clone: Path, url: str) -> str:
    parts = [SESSION, "set -eu", PRELUDES.get(page, LOGGED_IN), "set +eu"]
    for number, snippet in enumerate(runnable):
        code = snippet.code
        for documented in DOCUMENTED_URLS:
            code = code.replace(documented, url)
        path = clone / f"snippet-{number}.sh"
        path.write_text(code, encoding="utf-8")
        hooks = [hook for text, hook in AFTER.get(page, {}).items() if text in snippet.code]
        parts += [
            f"echo {number} > {clone / 'progress'}",
            f"export SNIPPET_STATUS={clone / f'status-{number}'}; : > $SNIPPET_STATUS",
            f"set -euo pipefail; source {path}; set +eu",
            *hooks,
        ]
    parts.append(f"echo done > {clone / 'progress'}")
    return "\n".join(parts) + "\n"


def _check(
    runnable: list[Snippet], result: subprocess.CompletedProcess[str], clone: Path, server: Server
) -> None:
    progress_file = clone / "progress"
    progress = progress_file.read_text().strip() if progress_file.exists() else "prelude"
    for number, snippet in enumerate(runnable):
        status_file = clone / f"status-{number}"
        if not status_file.exists():
            break
        codes = [int(code) for code in status_file.read_text().split()]
        bad = [
            code
            for code in codes
            if not (200 <= code < 400 or (400 <= code < 500 and code in snippet.expect))
        ]
        missing = [code for code in snippet.expect if code not in codes]
        if bad or missing:
            _fail(
                snippet,
                f"answered {codes}; expected 2xx/3xx or {list(snippet.expect)}",
                result,
                server,
            )
    if result.returncode != 0 or progress != "done":
        where = runnable[int(progress)] if progress.isdigit() else progress
        _fail(where, f"exited with status {result.returncode}", result, server)


def _fail(
    where: Snippet | str, why: str, result: subprocess.CompletedProcess[str], server: Server
) -> None:
    code = f"\n{where.code}" if isinstance(where, Snippet) else ""
    pytest.fail(
        f"{where} {why}:{code}\n--- stdout\n{result.stdout[-3000:]}\n--- stderr\n"
        f"{result.stderr[-3000:]}\n--- server log\n{server.logs()[-3000:]}",
        pytrace=False,
    )
