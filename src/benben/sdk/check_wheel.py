"""``benben plugin check``'s view of the built distribution: the wheel, its metadata, its pin on
Benben and its entry points, read from the wheel itself (what users will install), never from
the project's sources."""

from __future__ import annotations

import configparser
import email.parser
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

__all__ = [
    "Built",
    "WheelInfo",
    "benben_pin_problem",
    "build_wheel",
    "metadata_problem",
    "read_wheel",
]

# Specifier operators that bound the versions from above: a plugin pinned with one of them
# stops installing on the next major core instead of breaking on it.
_UPPER_BOUNDS = frozenset({"<", "<=", "==", "===", "~="})
BUILD_TIMEOUT = 600  # seconds: an isolated build may install its backend first


@dataclass
class Built:
    """The outcome of ``pip wheel``: the wheel, or the tool's output saying why not."""

    wheel: Path | None
    output: str


@dataclass
class WheelInfo:
    """What a wheel's .dist-info declares."""

    name: str
    version: str
    requires: list[str] = field(default_factory=list)
    entry_points: dict[str, dict[str, str]] = field(default_factory=dict)


def build_wheel(project: Path, out: Path, *, isolation: bool = True) -> Built:
    """``pip wheel --no-deps`` of ``project`` into ``out`` with the running interpreter."""
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out), str(project)]
    if not isolation:
        command.insert(4, "--no-build-isolation")
    environ = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    try:
        result = subprocess.run(  # noqa: S603 (a fixed command on the user's own project)
            command,
            env=environ,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Built(None, f"pip wheel did not finish within {BUILD_TIMEOUT} s")
    output = (result.stdout + result.stderr).strip()
    wheels = sorted(out.glob("*.whl"))
    if result.returncode != 0 or len(wheels) != 1:
        return Built(None, output)
    return Built(wheels[0], output)


def read_wheel(wheel: Path) -> WheelInfo:
    """Name, version, requirements and entry points from the wheel's .dist-info.

    Raises ``ValueError`` for a wheel without readable metadata.
    """
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = _dist_info_member(names, "METADATA")
        if metadata is None:
            raise ValueError(f"{wheel.name} has no .dist-info/METADATA")
        message = email.parser.Parser().parsestr(archive.read(metadata).decode("utf-8"))
        points_name = _dist_info_member(names, "entry_points.txt")
        points_text = archive.read(points_name).decode("utf-8") if points_name else ""
    info = WheelInfo(
        name=message.get("Name", ""),
        version=message.get("Version", ""),
        requires=list(message.get_all("Requires-Dist") or []),
    )
    if points_text:
        # Entry point names may hold characters configparser would otherwise treat specially.
        parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        try:
            parser.read_string(points_text)
        except configparser.Error as exc:
            raise ValueError(f"{wheel.name} has an unreadable entry_points.txt: {exc}") from None
        info.entry_points = {group: dict(parser[group]) for group in parser.sections()}
    return info


def metadata_problem(info: WheelInfo) -> str:
    """Why the wheel's name and version are not usable ("" when they are)."""
    if not info.name:
        return "the wheel's metadata has no Name"
    try:
        Version(info.version)
    except InvalidVersion:
        return f"the wheel's version {info.version!r} is not a PEP 440 version"
    return ""


def benben_pin_problem(requires: list[str], core_version: str) -> tuple[str, str]:
    """``(level, message)`` about the plugin's requirement on Benben.

    ``level`` is ``"fail"`` (no requirement, no version specifier, or one excluding this core),
    ``"warn"`` (no upper bound) or ``"ok"``; the message says which requirement and why.
    """
    pins: list[Requirement] = []
    for text in requires:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue  # pip refused to build such a wheel; nothing of Benben's to judge
        if canonicalize_name(requirement.name) != "benben":
            continue
        # Only what every install needs: a requirement of an extra (`extra == "test"`) is not.
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        pins.append(requirement)
    if not pins:
        return "fail", "the plugin does not depend on benben: add benben>=X.Y,<NEXT_MAJOR"
    requirement = pins[0]
    specifier = requirement.specifier
    if not specifier:
        return "fail", f"{requirement} pins no version: use benben>=X.Y,<NEXT_MAJOR"
    if not specifier.contains(core_version, prereleases=True):
        return "fail", f"{requirement} excludes this benben {core_version}"
    if not any(spec.operator in _UPPER_BOUNDS for spec in specifier):
        return "warn", (
            f"{requirement} has no upper bound: a new major benben may break the plugin "
            "(add <NEXT_MAJOR)"
        )
    return "ok", f"{requirement} (this is benben {core_version})"


def _dist_info_member(names: list[str], filename: str) -> str | None:
    for name in names:
        directory, _, base = name.partition("/")
        if directory.endswith(".dist-info") and base == filename:
            return name
    return None
