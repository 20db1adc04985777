"""The plugin template (``benben/sdk/template``, shipped in the wheel) and ``benben plugin new``.

The template is a directory of Jinja2 files, each named ``<file>.jinja`` (so that no tool takes
a template for Python) with dot-files named ``dot-<name>`` (setuptools' package-data globs skip
dot-files); path segments may hold variables (``src/{{ package }}``).  :func:`render` turns it
into ``{relative path: bytes}`` from the answers (name, description, author); :func:`new_plugin`
writes that into a new directory with ``.benben-template.json``, the record of the template
version, Benben's version, the answers and the sha256 of every file written, from which
``benben plugin update`` (:mod:`benben.sdk.update`) brings a project forward.

``TEMPLATE_VERSION`` goes up with every change of the template; ``TEMPLATE_DIGEST`` is the
digest of the template's files at that version, so that a test fails when one changes without
the other.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import jinja2
from packaging.version import InvalidVersion, Version

from benben.cli.common import CommandError
from benben.plugins.compat import PLUGIN_API_LEVEL
from benben.plugins.metadata import PLUGIN_NAME, RESERVED_NAMES
from benben.version import __version__

__all__ = [
    "RECORD",
    "TEMPLATE_DIGEST",
    "TEMPLATE_DIR",
    "TEMPLATE_VERSION",
    "Answers",
    "core_pin",
    "file_digest",
    "new_plugin",
    "read_record",
    "render",
    "template_context",
    "template_digest",
    "validate_name",
    "write_record",
]

TEMPLATE_VERSION = 2
# sha256 of the template's files (template_digest()): change the template, bump the version.
TEMPLATE_DIGEST = "a0a5d023ce5e23b6eeac8d1c7576c1f8e42357f9df54f0f33d327b5aee61dc0e"
TEMPLATE_DIR = Path(__file__).parent / "template"
TEMPLATE_NAME = "benben-plugin"
RECORD = ".benben-template.json"
_SUFFIX = ".jinja"
_DOT = "dot-"
# A description is one line, in the generated code's docstring and metadata.
_MAX_TEXT = 72


@dataclass(frozen=True)
class Answers:
    """What the user chose: all a project's files are rendered from these (and the core)."""

    name: str
    description: str
    author: str = ""

    @classmethod
    def from_json(cls, data: Any) -> Answers:
        if not isinstance(data, dict) or not all(
            isinstance(data.get(key, ""), str) for key in ("name", "description", "author")
        ):
            raise CommandError(f"{RECORD}: 'answers' must be an object of strings")
        return cls(
            str(data.get("name", "")), str(data.get("description", "")), data.get("author", "")
        )

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "description": self.description, "author": self.author}


def validate_name(name: str) -> str:
    """``name`` if it can be a plugin's name, else a CommandError saying why."""
    if not PLUGIN_NAME.fullmatch(name):
        raise CommandError(
            f"invalid plugin name {name!r}: 1-40 lowercase letters, digits and '_', starting "
            "with a letter (it names the URL prefix, the settings and the tables)"
        )
    if name in RESERVED_NAMES:
        raise CommandError(f"invalid plugin name {name!r}: Benben reserves it")
    return name


def _validate_text(what: str, value: str) -> str:
    """``value`` stripped, if it fits where the template writes it: string literals in Python,
    TOML, YAML and JavaScript, and docstrings' lines of at most 100 characters."""
    value = value.strip()
    if len(value) > _MAX_TEXT or any(c in value for c in '"\\`') or not value.isprintable():
        raise CommandError(
            f"the {what} must be one line of at most {_MAX_TEXT} printable characters, "
            "without double quotes, backslashes or backticks"
        )
    return value


def core_pin(version: str = __version__) -> str:
    """The dependency specifier on Benben for a plugin written against ``version``: this minor
    and later, below the next major (``0.3.1`` -> ``>=0.3,<1``; ``2.1.0`` -> ``>=2.1,<3``)."""
    try:
        release = Version(version).release
    except InvalidVersion as exc:
        raise CommandError(f"cannot pin Benben version {version!r}: {exc}") from None
    major, minor = release[0], release[1] if len(release) > 1 else 0
    return f">={major}.{minor},<{major + 1}"


def template_context(answers: Answers) -> dict[str, Any]:
    """The template's variables: the answers and what follows from them and from the core."""
    name = answers.name
    words = name.split("_")
    return {
        "name": name,
        "description": answers.description,
        "author": answers.author,
        "package": f"benben_{name}",
        "distribution": f"benben-{name.replace('_', '-')}",
        "title": " ".join(words).capitalize(),
        "camel": words[0] + "".join(word.capitalize() for word in words[1:]),
        "pascal": "".join(word.capitalize() for word in words),
        "core_pin": core_pin(),
        "api_level": PLUGIN_API_LEVEL,
        "benben_version": __version__,
        "template_version": TEMPLATE_VERSION,
    }


def _template_files(template_dir: Path) -> list[Path]:
    files = sorted(
        path
        for path in template_dir.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )
    strays = [str(path.relative_to(template_dir)) for path in files if path.suffix != _SUFFIX]
    if strays:  # a file the wheel ships but render() would not: a mistake in the template
        raise RuntimeError(f"plugin template files without {_SUFFIX}: {', '.join(strays)}")
    return files


def _quoted(value: str) -> str:
    """A double-quoted string literal, the same in Python, TOML and JavaScript (answers hold no
    double quote nor backslash: see _validate_text)."""
    return json.dumps(value, ensure_ascii=False)


def template_digest(template_dir: Path = TEMPLATE_DIR) -> str:
    """The sha256 of the template's files (names and contents)."""
    digest = hashlib.sha256()
    for path in _template_files(template_dir):
        digest.update(path.relative_to(template_dir).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def render(answers: Answers, template_dir: Path = TEMPLATE_DIR) -> dict[str, bytes]:
    """The project's files, ``{posix relative path: content}``, rendered from the template."""
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - it writes Python, TOML, YAML and Markdown, not HTML
    )
    environment.filters["quoted"] = _quoted
    context = template_context(answers)
    files: dict[str, bytes] = {}
    for path in _template_files(template_dir):
        parts = []
        for part in path.relative_to(template_dir).parts:
            part = environment.from_string(part).render(context)
            if part.startswith(_DOT):
                part = "." + part[len(_DOT) :]
            parts.append(part)
        parts[-1] = parts[-1].removesuffix(_SUFFIX)
        text = environment.from_string(path.read_text(encoding="utf-8")).render(context)
        files["/".join(parts)] = text.encode("utf-8")
    return files


def file_digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def write_record(project: Path, answers: Answers, files: Mapping[str, bytes | str]) -> None:
    """Write ``.benben-template.json``: ``files`` maps each path to its content or sha256."""
    record = {
        "template": TEMPLATE_NAME,
        "template_version": TEMPLATE_VERSION,
        "benben_version": __version__,
        "answers": answers.as_json(),
        "files": {
            path: content if isinstance(content, str) else file_digest(content)
            for path, content in sorted(files.items())
        },
    }
    (project / RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def read_record(project: Path) -> tuple[int, Answers, dict[str, str]]:
    """The recorded template version, answers and files' sha256 of a generated project."""
    path = project / RECORD
    if not path.is_file():
        raise CommandError(
            f"{project}: not a project made by 'benben plugin new' (no {RECORD} found)"
        )
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CommandError(f"{path}: unreadable ({exc})") from None
    if not isinstance(record, dict) or record.get("template") != TEMPLATE_NAME:
        raise CommandError(f"{path}: not a record of Benben's plugin template")
    version = record.get("template_version")
    files = record.get("files")
    if not isinstance(version, int) or not isinstance(files, dict):
        raise CommandError(f"{path}: 'template_version' or 'files' is missing or invalid")
    if not all(isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v) for v in files.values()):
        raise CommandError(f"{path}: 'files' must map paths to sha256 digests")
    answers = Answers.from_json(record.get("answers"))
    validate_name(answers.name)
    return version, answers, dict(files)


def _installed_plugin(name: str) -> str | None:
    """The distribution that installs a plugin named ``name`` here, if any."""
    for entry_point in entry_points(group="benben.plugins", name=name):
        return entry_point.dist.name if entry_point.dist else entry_point.value
    return None


def new_plugin(
    name: str,
    directory: Path | None = None,
    *,
    description: str = "",
    author: str = "",
    force: bool = False,
) -> tuple[Path, list[str]]:
    """Render the template for plugin ``name`` into ``directory`` (default ``./benben-<name>``,
    which must not exist or be empty unless ``force``); the directory and the files written."""
    validate_name(name)
    installed = _installed_plugin(name)
    if installed is not None:
        raise CommandError(
            f"a plugin named {name!r} is already installed (by {installed}): choose another name"
        )
    description = _validate_text("description", description) or (
        f"{' '.join(name.split('_')).capitalize()}: a Benben plugin."
    )
    answers = Answers(name, description, _validate_text("author", author))
    target = directory if directory is not None else Path(f"benben-{name.replace('_', '-')}")
    if target.exists() and not target.is_dir():
        raise CommandError(f"{target} exists and is not a directory")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise CommandError(f"{target} exists and is not empty (--force writes into it anyway)")
    files = render(answers)
    for relative, content in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    write_record(target, answers, files)
    return target, sorted(files)
