"""Backstage's catalog REST API, as much as registering a location needs (stdlib only).

Every failure is a :class:`BackstageError` with a one-line message saying what Backstage said
(its own error message for 400 and 401) or why it could not be reached.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

__all__ = ["BackstageError", "Catalog"]

MAX_BODY = 1 << 20  # a catalog answer larger than this is not one we need to read whole


class BackstageError(Exception):
    """A refused or failed call to Backstage; ``status`` is None when it was not reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def retryable(self) -> bool:
        """Worth trying again later: unreachable, overloaded, or not able to read us yet.

        401 and 403 are a wrong token: trying again changes nothing."""
        return self.status not in {401, 403}


@dataclass(frozen=True)
class Catalog:
    """The catalog API of the Backstage at ``base_url`` (e.g. https://backstage.example.org)."""

    base_url: str
    token: str = field(default="", repr=False)
    timeout: float = 10.0

    def register(self, target: str, *, dry_run: bool = False) -> dict[str, Any]:
        """Add (or refresh) the location ``target``; with ``dry_run``, only validate it."""
        query = {"onConflict": "refresh"}
        if dry_run:
            query["dryRun"] = "true"
        body = {"type": "url", "target": target}
        answer = self._call("POST", f"/api/catalog/locations?{urlencode(query)}", body, target)
        return answer if isinstance(answer, dict) else {}

    def location_of(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The location an entity came from, or None when the catalog has no such entity."""
        path = "/api/catalog/locations/by-entity/" + "/".join(
            quote(part, safe="") for part in (kind.lower(), namespace, name)
        )
        try:
            answer = self._call("GET", path)
        except BackstageError as exc:
            if exc.status == 404:
                return None
            raise
        return answer if isinstance(answer, dict) else None

    def location_by_target(self, target: str) -> dict[str, Any] | None:
        """The location registered for ``target`` (entities not processed yet included)."""
        answer = self._call("GET", "/api/catalog/locations")
        for item in answer if isinstance(answer, list) else []:
            location = item.get("data", item) if isinstance(item, dict) else {}
            if isinstance(location, dict) and location.get("target") == target:
                return location
        return None

    def delete_location(self, location_id: str) -> None:
        self._call("DELETE", f"/api/catalog/locations/{quote(location_id, safe='')}")

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, target: str = ""
    ) -> Any:
        url = self.base_url.rstrip("/") + path
        if urlsplit(url).scheme not in {"http", "https"}:
            raise BackstageError(f"Backstage's URL must be http:// or https://, not {url!r}")
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        # The scheme is checked above: urllib never opens file: or ftp: URLs here.
        request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read(MAX_BODY)
        except urllib.error.HTTPError as exc:
            raise self._refusal(exc, method, path, target) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError) or isinstance(exc, TimeoutError):
                raise BackstageError(
                    f"Backstage at {self.base_url} did not answer within {self.timeout:g}s"
                ) from None
            raise BackstageError(f"cannot reach Backstage at {self.base_url}: {reason}") from None
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise BackstageError(
                f"Backstage at {self.base_url} answered {method} {path} with something that is "
                "not JSON: is this Backstage's URL?"
            ) from None

    def _refusal(
        self, exc: urllib.error.HTTPError, method: str, path: str, target: str
    ) -> BackstageError:
        status = exc.code
        message = _error_message(exc)
        if status == 401:
            return BackstageError(
                f"Backstage at {self.base_url} refused the credentials (401 Unauthorized: "
                f"{message}): set benben.backstage.token (BENBEN_BACKSTAGE_TOKEN) to a token "
                "it accepts",
                status,
            )
        if status == 403:
            return BackstageError(
                f"Backstage at {self.base_url} does not allow this token to {method} "
                f"{path.split('?')[0]} (403 Forbidden: {message})",
                status,
            )
        if status == 400 and target:
            return BackstageError(f"Backstage refused {target} (400): {message}", status)
        if status == 404 and path.startswith("/api/catalog/locations?"):
            return BackstageError(
                f"Backstage at {self.base_url} has no catalog API (404 for {method} "
                f"{path.split('?')[0]}): is this Backstage's base URL?",
                status,
            )
        return BackstageError(
            f"Backstage answered {status} to {method} {path.split('?')[0]}: {message}", status
        )


def _error_message(exc: urllib.error.HTTPError) -> str:
    """Backstage's own message: ``{"error": {"name": ..., "message": ...}}``, else the text."""
    try:
        raw = exc.read(MAX_BODY)
    except OSError:
        raw = b""
    text = raw.decode("utf-8", "replace")
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return " ".join(str(error["message"]).split())
    return " ".join(text.split())[:300] or str(exc.reason)
