"""Secrets in query strings (``?access_token=...``, ``?ticket=...``) kept out of the logs.

Credentials belong in headers, but clients put them in URLs anyway (OAuth redirects, WebSocket
and SSE clients that cannot set headers, signed links), and URLs end up in logs that more people
read than the API.  Every URL Benben logs goes through :meth:`QueryRedactor.redact`: the value of
a sensitive parameter becomes ``[REDACTED]``, its name and the other parameters stay.

A parameter is sensitive when its name (percent-decoded, case-insensitive), or one of the words
of its name (split at ``_ - . [ ]`` and camelCase: ``X-Amz-Signature``, ``accessToken``,
``client_secret``), is listed in :data:`SENSITIVE_WORDS` or in ``benben.logging.redact``, or
when it ends with token, secret, password, passwd, signature or apikey (``accesstoken``).
Hiding a harmless value (``sort_key``) costs less than logging a credential.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote_plus

from pyramid.registry import Registry

__all__ = ["REDACTED", "REDACTOR_KEY", "SENSITIVE_WORDS", "QueryRedactor", "get_redactor"]

REDACTED = "[REDACTED]"
REDACTOR_KEY = "benben.logging.redactor"
SETTING = "benben.logging.redact"

SENSITIVE_WORDS = frozenset(
    {
        # tokens and tickets: access_token, refresh_token, id_token, token, ticket, jwt...
        "token", "ticket", "jwt", "bearer", "assertion", "otp", "nonce",
        # passwords and secrets: password, passwd, pwd, secret, client_secret...
        "password", "passwd", "pwd", "passphrase", "secret", "credential", "credentials",
        # keys and signatures: api_key, apikey, key, signature, sig (signed URLs)...
        "key", "apikey", "signature", "sig", "hmac",
        # authorization and sessions: auth, authorization, code (OAuth), session, sessionid...
        "auth", "authorization", "code", "session", "sessionid", "sid", "cookie",
    }
)  # fmt: skip

# Words that make a name sensitive even glued to another one, without a separator.
_SENSITIVE_ENDINGS = ("token", "secret", "password", "passwd", "signature", "apikey")
_PAIR_SEPARATORS = re.compile(r"([&;])")
# Word boundaries in a parameter name: separators, and a lower-to-upper camelCase step.
_SEPARATORS = re.compile(r"[_\-.\[\]\s]+|(?<=[a-z0-9])(?=[A-Z])")


class QueryRedactor:
    """Redacts the values of sensitive query parameters; built once per app."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self.words = SENSITIVE_WORDS | {word.strip().lower() for word in extra if word.strip()}
        self._verdicts: dict[str, bool] = {}  # by raw name: clients repeat the same few names

    def sensitive(self, raw_name: str) -> bool:
        verdict = self._verdicts.get(raw_name)
        if verdict is None:
            name = unquote_plus(raw_name)
            lowered = name.lower()
            verdict = (
                lowered in self.words
                or lowered.endswith(_SENSITIVE_ENDINGS)  # accesstoken, clientsecret...
                or any(word.lower() in self.words for word in _SEPARATORS.split(name) if word)
            )
            if len(self._verdicts) < 1024:  # bounded: names are chosen by clients
                self._verdicts[raw_name] = verdict
        return verdict

    def redact(self, query: str) -> str:
        """``access_token=abc&x=1`` -> ``access_token=[REDACTED]&x=1``, on the raw query string
        (still percent-encoded: it is logged as received)."""
        if not query:
            return query
        # Split at ";" too: some servers and proxies read it as "&", so a client may use it.
        parts = _PAIR_SEPARATORS.split(query)
        changed = False
        for index in range(0, len(parts), 2):  # odd indexes hold the separators
            name, equals, value = parts[index].partition("=")
            if equals and value and self.sensitive(name):
                parts[index] = f"{name}={REDACTED}"
                changed = True
        return "".join(parts) if changed else query


def get_redactor(registry: Registry | Any) -> QueryRedactor:
    """The app's redactor (one with the default words for a registry built without it)."""
    redactor = registry.get(REDACTOR_KEY) if registry is not None else None
    return redactor if redactor is not None else QueryRedactor()
