"""How Benben settings are defined and resolved; core's own are in :mod:`benben.core_settings`.

A :class:`Setting` carries its name, parser, default, help and whether it is a secret.  From these
definitions come parsing and validation at start-up, the ``BENBEN_*`` environment overrides,
``benben config`` and the configuration reference in the docs.  Precedence: default < ini < env.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyramid.exceptions import ConfigurationError

__all__ = [
    "ResolvedSettings",
    "Setting",
    "as_bool",
    "as_choice",
    "as_float",
    "as_int",
    "as_list",
    "as_str",
    "env_name",
    "resolve_settings",
]

PREFIX = "benben."
ENV_PREFIX = "BENBEN_"
SECRET_MASK = "********"  # noqa: S105 - what is shown instead of a secret

Parser = Callable[[Any], Any]

# Settings that were removed, and what replaces them: refused at start-up (ini or environment)
# rather than ignored, since ignoring a security setting silently changes what it protects.
RETIRED_SETTINGS: dict[str, str] = {
    "benben.auth.login_failures": "replaced by benben.auth.login_failures_per_account and "
    "benben.auth.login_failures_per_address (one user's typos no longer lock out an address)",
}


def as_str(value: Any) -> str:
    return str(value).strip()


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected a boolean (true/false, yes/no, on/off, 1/0)")


def as_int(minimum: int | None = None, maximum: int | None = None) -> Parser:
    def parse(value: Any) -> int:
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ValueError("expected an integer") from None
        if minimum is not None and number < minimum:
            raise ValueError(f"must be >= {minimum}")
        if maximum is not None and number > maximum:
            raise ValueError(f"must be <= {maximum}")
        return number

    parse.__name__ = "integer"
    parse.bounds = (minimum, maximum)  # type: ignore[attr-defined] # read by Setting.accepts
    return parse


def as_float(minimum: float | None = None, maximum: float | None = None) -> Parser:
    def parse(value: Any) -> float:
        try:
            number = float(str(value).strip())
        except ValueError:
            raise ValueError("expected a number") from None
        if not math.isfinite(number):  # NaN passes every bound: no comparison holds for it
            raise ValueError("expected a finite number")
        if minimum is not None and number < minimum:
            raise ValueError(f"must be >= {minimum}")
        if maximum is not None and number > maximum:
            raise ValueError(f"must be <= {maximum}")
        return number

    parse.__name__ = "number"
    parse.bounds = (minimum, maximum)  # type: ignore[attr-defined] # read by Setting.accepts
    return parse


def as_list(value: Any) -> tuple[str, ...]:
    """Whitespace- or comma-separated words, as ini files and env vars write lists."""
    if isinstance(value, list | tuple):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return tuple(word for word in str(value).replace(",", " ").split() if word)


def as_choice(*choices: str) -> Parser:
    # Matched case-insensitively, answered in the spelling defined (HS256 stays HS256).
    canonical = {choice.lower(): choice for choice in choices}

    def parse(value: Any) -> str:
        text = str(value).strip().lower()
        if text not in canonical:
            raise ValueError(f"accepted values: {', '.join(choices)}")
        return canonical[text]

    parse.__name__ = "one of " + "|".join(choices)
    parse.choices = choices  # type: ignore[attr-defined] # read by Setting.accepts
    return parse


_KIND_WORDS = {"str": "string", "list": "list (words separated by spaces or commas)"}
_BOOLEAN_WORDS = (("true", "false"), ("yes", "no"), ("on", "off"), ("1", "0"))


def env_name(name: str) -> str:
    """``benben.cache.url`` -> ``BENBEN_CACHE_URL``."""
    return ENV_PREFIX + name[len(PREFIX) :].upper().replace(".", "_").replace("-", "_")


@dataclass(frozen=True)
class Setting:
    """One setting: ``name`` is dotted and starts with ``benben.``."""

    name: str
    parser: Parser = as_str
    default: Any = None
    help: str = ""
    secret: bool = False

    def __post_init__(self) -> None:
        if not self.name.startswith(PREFIX):
            raise ConfigurationError(f"setting {self.name!r} must start with {PREFIX!r}")

    @property
    def env(self) -> str:
        return env_name(self.name)

    @property
    def kind(self) -> str:
        return getattr(self.parser, "__name__", "string").replace("as_", "")

    @property
    def accepts(self) -> str:
        """The values accepted, in words: bounds and choices included (``benben config --help``)."""
        return self.describe_accepted()

    def describe_accepted(self, code: Callable[[str], str] = str) -> str:
        """:attr:`accepts`, each literal value passed through ``code`` (Markdown: backticks)."""
        choices = getattr(self.parser, "choices", None)
        if choices:
            return "one of " + ", ".join(code(choice) for choice in choices)
        if self.kind == "bool":
            pairs = ", ".join("/".join(map(code, pair)) for pair in _BOOLEAN_WORDS)
            return f"boolean ({pairs})"
        minimum, maximum = getattr(self.parser, "bounds", (None, None))
        kind = _KIND_WORDS.get(self.kind, self.kind)
        if minimum is not None and maximum is not None:
            return f"{kind} from {code(str(minimum))} to {code(str(maximum))}"
        if minimum is not None:
            return f"{kind} >= {code(str(minimum))}"
        if maximum is not None:
            return f"{kind} <= {code(str(maximum))}"
        return kind

    def parse(self, raw: Any, source: str) -> Any:
        try:
            return self.parser(raw)
        except ValueError as exc:
            where = f"environment variable {self.env}" if source == "env" else source
            raise ConfigurationError(
                f"invalid value {raw!r} for setting {self.name} (from {where}): {exc}"
            ) from None


@dataclass
class ResolvedSettings:
    """Parsed values of every known setting, where each came from, and what was not recognised."""

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    definitions: dict[str, Setting] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    passthrough: dict[str, Any] = field(default_factory=dict)

    def as_pyramid_settings(self) -> dict[str, Any]:
        return {**self.passthrough, **self.values}

    def describe(self) -> list[tuple[str, str, str]]:
        """``(name, displayed value, source)`` rows with secrets masked."""
        rows = []
        for name in sorted(self.values):
            value = self.values[name]
            definition = self.definitions.get(name)
            if definition is not None and definition.secret and value:
                shown = SECRET_MASK
            elif isinstance(value, tuple):
                shown = " ".join(value)
            else:
                shown = "" if value is None else str(value)
            rows.append((name, shown, self.sources.get(name, "default")))
        return rows


def resolve_settings(
    raw: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
    definitions: Iterable[Setting] = (),
    open_namespaces: Sequence[str] = (),
) -> ResolvedSettings:
    """Merge defaults, ini values (``raw``) and ``BENBEN_*`` environment variables.

    ``open_namespaces`` are plugin namespaces (``benben.foo.``) whose plugin declared no settings:
    their keys are passed through as strings rather than reported as unknown.
    """
    environ = os.environ if environ is None else environ
    result = ResolvedSettings()
    for definition in definitions:
        if definition.name in result.definitions:
            raise ConfigurationError(f"setting {definition.name} is defined twice")
        result.definitions[definition.name] = definition

    for name, replacement in RETIRED_SETTINGS.items():
        if name in raw or env_name(name) in environ:
            raise ConfigurationError(f"setting {name} ({env_name(name)}) is no longer "
                                     f"supported: {replacement}")  # fmt: skip

    for key, value in raw.items():
        if not key.startswith(PREFIX):
            result.passthrough[key] = value

    for name, definition in result.definitions.items():
        if definition.env in environ:
            value, source = definition.parse(environ[definition.env], "env"), "env"
        elif name in raw:
            value, source = definition.parse(raw[name], "ini"), "ini"
        else:
            value, source = definition.default, "default"
        result.values[name] = value
        result.sources[name] = source

    for key in sorted(raw):
        if not key.startswith(PREFIX) or key in result.definitions:
            continue
        if any(key.startswith(ns) for ns in open_namespaces):
            result.values[key] = raw[key]
            result.sources[key] = "ini"
        else:
            result.unknown.append(key)
    return result
