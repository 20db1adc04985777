"""Helpers for the console's browser tests: a live ``benben serve``, the system Chromium, what the
browser reported (console errors, failed requests, CSP violations) and axe-core's verdict.

The browser is Debian's Chromium driven by Playwright (never a downloaded browser: the CI script
installs the ``chromium`` package). Data the flows need is arranged through the HTTP API, as a
user's script would, not through the database.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benben.testing_auth import DEFAULT_PASSWORD
from cli.cli_support import FAST_HASHING, Server, benben_command, clean_environ, port_of

# Debian's chromium package: /usr/bin/chromium is a shell wrapper; Playwright needs the binary.
CHROMIUM = Path(os.environ.get("BENBEN_TEST_CHROMIUM", "/usr/lib/chromium/chromium"))
ADMIN = "admin"
ADMIN_PASSWORD = DEFAULT_PASSWORD
# Long enough for a loaded CI machine, short enough that a missing element fails fast.
TIMEOUT_MS = 10_000

# An init script (run by the DevTools protocol, so the page's CSP does not apply to it): every
# violation the browser reports goes to the test through an exposed binding, even when the page
# navigates away right after.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__benbenCspViolation({
    directive: event.violatedDirective,
    blocked: event.blockedURI,
    source: event.sourceFile + ":" + event.lineNumber,
    sample: event.sample,
  });
});
"""

# Chromium logs every 4xx/5xx answer to fetch() as a console error; the flows provoke 4xx on
# purpose (a 412, a 400 with pointers, a 401 before a refresh), and 5xx answers are recorded from
# the responses themselves.
_STATUS_NOISE = re.compile(r"^Failed to load resource: the server responded with a status of")


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM} (Debian package chromium)"
    try:
        import axe_playwright_python  # noqa: F401
        import playwright  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (the test extra)"
    return None


def launch_args() -> list[str]:
    # Chromium's sandbox refuses to start as root (CI containers run as root).
    return ["--no-sandbox"] if os.geteuid() == 0 else []


class LiveServer:
    """A ``benben serve`` of its own: SQLite in a scratch directory, the first administrator
    created from BENBEN_ADMIN_PASSWORD, no rate limits (the flows log in often)."""

    def __init__(self, directory: Path, **settings: str) -> None:
        environ = clean_environ(
            **{
                **FAST_HASHING,
                "BENBEN_ADMIN_PASSWORD": ADMIN_PASSWORD,
                "BENBEN_RATELIMIT_ENABLED": "false",
                # The "last data directory" note is per user: keep the tests out of the real one.
                "XDG_STATE_HOME": str(directory / "state"),
                **settings,
            }
        )
        self.directory = directory
        self.server = Server(benben_command("serve", "--port", "0"), directory, environ)
        self.url = f"http://127.0.0.1:{port_of(self.server.listen_line())}"
        self.server.wait_ready(f"{self.url}/health/ready")
        self._tokens: dict[str, str] = {}

    def stop(self) -> None:
        self.server.stop()

    def logs(self) -> str:
        return self.server.logs()

    def api(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        user: str | None = ADMIN,
        headers: Mapping[str, str] | None = None,
    ) -> ApiAnswer:
        """One request to the API as ``user`` (None: anonymous); JSON in, JSON out."""
        sent = {"Accept": "application/json", **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        if user is not None:
            sent["Authorization"] = f"Bearer {self.access_token(user)}"
        url = path if path.startswith("http") else f"{self.url}{path}"
        request = urllib.request.Request(url, data=data, method=method, headers=sent)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return ApiAnswer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as exc:
            return ApiAnswer(exc.code, dict(exc.headers), exc.read())

    def access_token(self, user: str = ADMIN, password: str = ADMIN_PASSWORD) -> str:
        if user not in self._tokens:
            answer = self.api(
                "POST",
                "/api/v1/auth/login",
                {"username": user, "password": password},
                user=None,
            )
            assert answer.status == 200, answer
            self._tokens[user] = answer.json()["access_token"]
        return self._tokens[user]

    def create_user(self, username: str, *, admin: bool = False) -> dict[str, Any]:
        answer = self.api(
            "POST",
            "/api/v1/users",
            {"username": username, "password": ADMIN_PASSWORD, "is_admin": admin},
        )
        assert answer.status == 201, answer
        return answer.json()


@dataclass
class ApiAnswer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def __str__(self) -> str:
        return f"{self.status} {self.body[:2000].decode(errors='replace')}"


@dataclass
class BrowserReport:
    """What went wrong in the browser during a test; any entry fails it."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    accessibility: list[str] = field(default_factory=list)
    # Paths (without query) the page showed, and those axe-core checked.
    visited: set[str] = field(default_factory=set)
    checked: set[str] = field(default_factory=set)
    # Patterns of console errors a test provokes on purpose.
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow_console_error(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def on_console(self, message: Any) -> None:
        text = message.text
        if "Content Security Policy" in text:
            self.csp_violations.append(f"console: {text}")
        elif (
            message.type == "error"
            and not _STATUS_NOISE.match(text)
            and not any(p.search(text) for p in self.allowed)
        ):
            self.console_errors.append(f"{text} ({message.location.get('url')})")

    def on_page_error(self, error: Any) -> None:
        self.page_errors.append(str(error))

    def on_request_failed(self, request: Any) -> None:
        failure = request.failure or ""
        # A fetch aborted by the page (navigating away, a superseded search) is not a failure.
        if "ERR_ABORTED" not in failure:
            self.failed_requests.append(f"{request.method} {request.url}: {failure}")

    def on_response(self, response: Any) -> None:
        request = response.request
        broken_asset = response.status >= 400 and request.resource_type in {
            "document",
            "script",
            "stylesheet",
            "image",
            "font",
        }
        if response.status >= 500 or broken_asset:
            self.failed_requests.append(f"{request.method} {response.url}: {response.status}")

    def on_csp_violation(self, _source: Any, violation: dict[str, Any]) -> None:
        self.csp_violations.append(json.dumps(violation, sort_keys=True))

    def on_navigated(self, frame: Any) -> None:
        if frame.parent_frame is None and path_of(frame.url).startswith("/admin"):
            self.visited.add(path_of(frame.url))

    def problems(self) -> list[str]:
        found = [
            *(f"console error: {e}" for e in self.console_errors),
            *(f"uncaught: {e}" for e in self.page_errors),
            *(f"request failed: {e}" for e in self.failed_requests),
            *(f"CSP violation: {e}" for e in self.csp_violations),
            *self.accessibility,
        ]
        return found


# Console paths of one page with different ids (a collection, a record, a user) are one page to
# axe-core: the first segments of /admin/<section>/<id>/<subpage>/<id>.
_ID_SEGMENTS = re.compile(r"^(/admin/(?:collections|users|groups|plugins))/[^/]+(/records/[^/]+)?")


def path_of(url: str) -> str:
    """The page a URL shows, ids replaced by ``*`` (``/admin/collections/*/records``)."""
    path = urllib.parse.urlsplit(url).path
    return _ID_SEGMENTS.sub(lambda m: f"{m[1]}/*" + ("/records/*" if m[2] else ""), path, count=1)


def attach(page: Any, report: BrowserReport) -> None:
    page.on("console", report.on_console)
    page.on("pageerror", report.on_page_error)
    page.on("requestfailed", report.on_request_failed)
    page.on("response", report.on_response)
    page.on("framenavigated", report.on_navigated)


def axe_violations(page: Any) -> str | None:
    """axe-core's report on the page as it is now, or None when it finds nothing."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return None if results.violations_count == 0 else results.generate_report()


def new_context(browser: Any, live: LiveServer, report: BrowserReport, **options: Any) -> Any:
    """A browser context reporting CSP violations to ``report`` (no bypass_csp: the console's
    policy is what is tested)."""
    options.setdefault("viewport", {"width": 1280, "height": 800})
    context = browser.new_context(base_url=live.url, **options)
    context.set_default_timeout(TIMEOUT_MS)
    context.expose_binding("__benbenCspViolation", report.on_csp_violation)
    context.add_init_script(CSP_LISTENER)
    context.on("page", lambda page: attach(page, report))
    return context
