"""``benben plugin check PATH``: is this plugin ready to publish for the installed Benben?

It builds the plugin's wheel and judges what users would install: the wheel's metadata (name,
version, a ``benben`` pin that admits this core and stops before the next major), its
``benben.plugins`` entry point, the plugin loaded from the wheel by the loader's own discovery
(includeme, a valid PluginMetadata, an API level this core runs), the public-API rule over its
sources (``benben.plugin`` only; see ``benben.sdk.public_api``), and finally the plugin's own
tests run with pytest against the installed core, the wheel first on the path. One line per
check; the exit status is 0 only when every check passes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from benben.cli.common import EXIT_FAILURE, EXIT_USAGE, CommandError, one_line
from benben.plugins.compat import PLUGIN_API_LEVEL, SUPPORTED_API_LEVELS
from benben.sdk.check_load import LoadedPlugin, load_plugins
from benben.sdk.check_wheel import (
    WheelInfo,
    benben_pin_problem,
    build_wheel,
    metadata_problem,
    read_wheel,
)
from benben.sdk.public_api import ALLOWED, TEST_ALLOWED, scan_files
from benben.version import __version__

__all__ = ["add_arguments", "run"]

DATABASES = ("sqlite", "postgresql", "all")
TEST_TIMEOUT = 1800  # seconds for the plugin's whole test suite
_PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")
_GROUP = "benben.plugins"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="the plugin's project directory (where pyproject.toml is)")
    parser.add_argument(
        "--no-tests", action="store_true", help="skip running the plugin's tests with pytest"
    )
    parser.add_argument(
        "--benben-db",
        choices=DATABASES,
        help="the databases the plugin's tests run on (passed to pytest; default: pytest's, "
        "i.e. BENBEN_TEST_DB or sqlite)",
    )
    parser.add_argument(
        "--no-build-isolation",
        action="store_true",
        help="build with the build backend installed here (pip wheel --no-build-isolation): "
        "offline, but the backend must be installed",
    )


class Report:
    """The checks' lines, printed as they come, and whether any failed."""

    def __init__(self, write: Callable[[str], object] = print) -> None:
        self.write = write
        self.failed: list[str] = []
        self.count = 0

    def ok(self, check: str, detail: str) -> None:
        self.count += 1
        self.write(f"ok    {check}: {detail}")

    def warn(self, check: str, detail: str) -> None:
        self.count += 1
        self.write(f"warn  {check}: {detail}")

    def fail(self, check: str, why: str) -> None:
        self.count += 1
        self.failed.append(check)
        self.write(f"FAIL  {check}: {why}")

    def output(self, text: str) -> None:
        """A tool's own output, indented under the check it explains."""
        for line in text.rstrip().splitlines():
            self.write(f"      | {line}")


def run(args: argparse.Namespace) -> int:
    project = Path(args.path).resolve()
    if not project.is_dir():
        raise CommandError(f"{args.path} is not a directory", EXIT_USAGE)
    if not any((project / name).is_file() for name in _PROJECT_FILES):
        raise CommandError(
            f"{args.path} is not a Python project: it has no pyproject.toml (or setup.py)",
            EXIT_USAGE,
        )
    report = Report()
    with tempfile.TemporaryDirectory(prefix="benben-plugin-check-") as scratch:
        _check(project, Path(scratch), args, report)
    if report.failed:
        report.write(
            f"benben plugin check: {len(report.failed)} of {report.count} checks failed "
            f"({', '.join(report.failed)})"
        )
        return EXIT_FAILURE
    report.write(f"benben plugin check: all {report.count} checks passed (benben {__version__})")
    return 0


def _check(project: Path, scratch: Path, args: argparse.Namespace, report: Report) -> None:
    built = build_wheel(project, scratch / "wheel", isolation=not args.no_build_isolation)
    if built.wheel is None:
        report.output("\n".join(built.output.splitlines()[-20:]))
        report.fail("build", f"pip wheel could not build {project.name} (its output above)")
        return
    report.ok("build", built.wheel.name)
    try:
        info = read_wheel(built.wheel)
    except (ValueError, KeyError, zipfile.BadZipFile) as exc:
        report.fail("metadata", one_line(exc))
        return
    problem = metadata_problem(info)
    if problem:
        report.fail("metadata", problem)
    else:
        report.ok("metadata", f"{info.name} {info.version}")
    level, message = benben_pin_problem(info.requires, __version__)
    {"ok": report.ok, "warn": report.warn, "fail": report.fail}[level]("benben pin", message)
    if not _check_entry_points(info, report):
        return
    unpacked = scratch / "unpacked"
    with zipfile.ZipFile(built.wheel) as archive:
        archive.extractall(unpacked)
    _check_plugins(unpacked, report)
    _check_public_api(project, unpacked, report)
    if args.no_tests:
        return
    _check_tests(project, unpacked, args.benben_db, report)


def _check_entry_points(info: WheelInfo, report: Report) -> bool:
    points = info.entry_points.get(_GROUP, {})
    if not points:
        report.fail(
            "entry point",
            f"the wheel declares no entry point in group {_GROUP}: add "
            f'[project.entry-points."{_GROUP}"] NAME = "your_package" to pyproject.toml',
        )
        return False
    report.ok("entry point", ", ".join(f"{name} = {value}" for name, value in points.items()))
    return True


def _check_plugins(unpacked: Path, report: Report) -> None:
    try:
        plugins = load_plugins(unpacked)
    except RuntimeError as exc:
        report.fail("plugin", f"could not load the plugin: {one_line(exc)}")
        return
    for plugin in plugins:
        problem = _plugin_problem(plugin)
        check = f"plugin {plugin.name}"
        if problem:
            report.fail(check, problem)
        else:
            report.ok(check, f"loads from the wheel, plugin API level {plugin.api}")


def _plugin_problem(plugin: LoadedPlugin) -> str:
    from packaging.specifiers import SpecifierSet

    if plugin.status == "error":
        return plugin.reason
    if plugin.api is None:
        return (
            f"declares no plugin API level: add api={PLUGIN_API_LEVEL} to its PluginMetadata "
            "(benben_plugin = PluginMetadata(api=...))"
        )
    if plugin.api not in SUPPORTED_API_LEVELS:  # discovery refuses these: kept as a safety net
        return f"plugin API level {plugin.api} is not one benben {__version__} runs"
    if plugin.core and not SpecifierSet(plugin.core).contains(__version__, prereleases=True):
        return f"PluginMetadata.core {plugin.core!r} excludes this benben {__version__}"
    if not plugin.from_wheel:
        return (
            f"{plugin.entry_point} was imported from {plugin.location}, not from the wheel: "
            "the wheel does not contain the package (check the project's package discovery)"
        )
    return ""


def _check_public_api(project: Path, unpacked: Path, report: Report) -> None:
    shipped = [
        path
        for path in unpacked.iterdir()
        if not path.name.endswith((".dist-info", ".data")) and path.name != "__pycache__"
    ]
    tests = [path for path in (project / "tests", project / "conftest.py") if path.exists()]
    try:
        found = [
            item
            for item in scan_files(shipped, allowed=ALLOWED, relative_to=unpacked)
            # Tests shipped inside the package follow the tests' rule.
            if not (_is_test(item.path) and item.module in TEST_ALLOWED)
        ]
        found += scan_files(tests, allowed=TEST_ALLOWED, relative_to=project)
    except (SyntaxError, UnicodeDecodeError) as exc:
        report.fail("public API", f"cannot read a source file: {one_line(exc)}")
        return
    if found:
        shown = "; ".join(str(item) for item in found[:5])
        more = f" (and {len(found) - 5} more)" if len(found) > 5 else ""
        report.fail("public API", f"{shown}{more}: import only benben.plugin (docs/plugin-api.md)")
    else:
        report.ok("public API", "imports only benben.plugin from Benben")


def _is_test(path: str) -> bool:
    parts = Path(path).parts
    return "tests" in parts[:-1] or parts[-1].startswith("test_") or parts[-1] == "conftest.py"


def _check_tests(project: Path, unpacked: Path, database: str | None, report: Report) -> None:
    check = f"tests ({database})" if database else "tests"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"]
    if database:
        command.append(f"--benben-db={database}")
    existing = os.environ.get("PYTHONPATH")
    environ = {
        **os.environ,
        # The wheel first: its entry points and package, not an editable install's, are tested.
        "PYTHONPATH": os.pathsep.join([str(unpacked), *([existing] if existing else [])]),
    }
    try:
        result = subprocess.run(  # noqa: S603 (this interpreter's pytest on the user's project)
            command,
            cwd=project,
            env=environ,
            capture_output=True,
            text=True,
            timeout=TEST_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        report.fail(check, f"pytest did not finish within {TEST_TIMEOUT} s")
        return
    output = (result.stdout + result.stderr).strip()
    lines = output.splitlines()
    summary = lines[-1].strip("= ") if lines else f"exit status {result.returncode}"
    if result.returncode == 0:
        report.ok(check, summary)
    elif result.returncode == 5:
        report.fail(check, f"pytest found no tests in {project.name} (or run with --no-tests)")
    elif "No module named pytest" in output:
        report.fail(check, "pytest is not installed here: pip install 'benben[pytest]'")
    else:
        report.output(output)
        report.fail(check, f"{summary} (pytest's output above)")
