"""``benben plugin check PATH``: a good plugin passes every check; each kind of mistake fails its
own check with a line saying what is wrong (and the exit status is 1).

The plugins are small projects written in tmp and built offline (``--no-build-isolation``).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from benben.cli import main
from benben.sdk.check import _is_test
from benben.sdk.check_wheel import benben_pin_problem
from benben.sdk.scaffold import core_pin
from benben.version import __version__

# What a generated plugin pins: this core's minor up to the next major (">=0.1,<1").
PIN = f'"benben{core_pin()}"'

GOOD_INIT = """\
from benben.plugin import PluginMetadata

benben_plugin = PluginMetadata(api=1, description="Checked by benben plugin check.")


def includeme(config):
    config.add_route("good.hello", "/hello")
"""
GOOD_TEST = """\
import importlib.metadata

import benben_good
from benben.testing import eventually


def test_the_wheel_is_what_runs():
    points = importlib.metadata.entry_points(group="benben.plugins")
    assert [ep.value for ep in points if ep.name == "good"] == ["benben_good"]
    assert "unpacked" in benben_good.__file__
    assert eventually(lambda: True)
"""


def write_project(
    root: Path,
    *,
    dependency: str | None = PIN,
    entry_point: str | None = '"benben_good"',
    init: str = GOOD_INIT,
    test: str = GOOD_TEST,
) -> Path:
    project = root / "benben-good"
    package = project / "src" / "benben_good"
    package.mkdir(parents=True)
    (project / "tests").mkdir()
    dependencies = f"[{dependency}]" if dependency else "[]"
    points = (
        f'[project.entry-points."benben.plugins"]\ngood = {entry_point}\n' if entry_point else ""
    )
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [build-system]
            requires = ["setuptools>=77"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "benben-good"
            version = "0.3.0"
            dependencies = {dependencies}

            """
        )
        + points,
        encoding="utf-8",
    )
    (package / "__init__.py").write_text(init, encoding="utf-8")
    (project / "tests" / "test_good.py").write_text(test, encoding="utf-8")
    return project


def check(
    project: Path, capsys: pytest.CaptureFixture[str], *options: str
) -> tuple[int, list[str], str]:
    code = main(["plugin", "check", str(project), "--no-build-isolation", *options])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def line(lines: list[str], prefix: str) -> str:
    (found,) = [text for text in lines if text.startswith(prefix)]
    return found


@pytest.mark.slow
def test_a_good_plugin_passes_every_check(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, lines, err = check(write_project(tmp_path), capsys)
    assert (code, err) == (0, "")
    assert [text.split(":")[0] for text in lines] == [
        "ok    build",
        "ok    metadata",
        "ok    benben pin",
        "ok    entry point",
        "ok    plugin good",
        "ok    public API",
        "ok    tests",
        "benben plugin check",
    ]
    assert lines[0] == "ok    build: benben_good-0.3.0-py3-none-any.whl"
    assert lines[1] == "ok    metadata: benben-good 0.3.0"
    assert lines[4] == "ok    plugin good: loads from the wheel, plugin API level 1"
    assert "1 passed" in lines[6]
    assert lines[-1].startswith("benben plugin check: all 7 checks passed")


@pytest.mark.slow
def test_the_databases_are_passed_to_pytest(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """--benben-db reaches the plugin's tests: benben's pytest plugin runs each on both."""
    test = GOOD_TEST + (
        "\n\ndef test_on_each_database(benben_settings):\n"
        "    assert benben_settings['benben.cache.backend'] in {'memory', 'redis'}\n"
    )
    code, lines, _ = check(write_project(tmp_path, test=test), capsys, "--benben-db", "all")
    assert code == 0, "\n".join(lines)
    assert line(lines, "ok    tests (all)").startswith("ok    tests (all): 3 passed")


@pytest.mark.slow
def test_no_entry_point(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, lines, _ = check(write_project(tmp_path, entry_point=None), capsys)
    assert code == 1
    assert line(lines, "FAIL  entry point") == (
        "FAIL  entry point: the wheel declares no entry point in group benben.plugins: add "
        '[project.entry-points."benben.plugins"] NAME = "your_package" to pyproject.toml'
    )
    assert lines[-1] == "benben plugin check: 1 of 4 checks failed (entry point)"


@pytest.mark.slow
def test_private_import_anywhere(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    init = GOOD_INIT + "\n\ndef helper():\n    from benben.db.meta import Base\n\n    return Base\n"
    test = GOOD_TEST + "\nimport benben.config  # noqa\n"
    project = write_project(tmp_path, init=init, test=test)
    code, lines, _ = check(project, capsys, "--no-tests")
    assert code == 1
    assert line(lines, "FAIL  public API") == (
        "FAIL  public API: benben_good/__init__.py:11 imports benben.db.meta; "
        "tests/test_good.py:13 imports benben.config: import only benben.plugin "
        "(docs/plugin-api.md)"
    )
    assert line(lines, "ok    plugin good")  # the rest still runs and passes


@pytest.mark.slow
@pytest.mark.parametrize(
    ("declaration", "why"),
    [
        (
            "api=99",
            f"written for plugin API level 99, but benben {__version__} provides level 1 (runs "
            "plugins written for level 1): upgrade Benben to a release providing it",
        ),
        (
            'description="no level"',
            "declares no plugin API level: add api=1 to its PluginMetadata "
            "(benben_plugin = PluginMetadata(api=...))",
        ),
        ('api=1, core=">=99"', f"PluginMetadata.core '>=99' excludes this benben {__version__}"),
    ],
)
def test_api_level_and_core_range(
    declaration: str, why: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    init = GOOD_INIT.replace('api=1, description="Checked by benben plugin check."', declaration)
    code, lines, _ = check(write_project(tmp_path, init=init), capsys, "--no-tests")
    assert code == 1
    assert line(lines, "FAIL  plugin good") == f"FAIL  plugin good: {why}"


@pytest.mark.slow
def test_a_module_without_includeme(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    init = "from benben.plugin import PluginMetadata\n\nbenben_plugin = PluginMetadata(api=1)\n"
    code, lines, _ = check(write_project(tmp_path, init=init), capsys, "--no-tests")
    assert code == 1
    assert line(lines, "FAIL  plugin good") == (
        "FAIL  plugin good: entry point benben_good names a module without an includeme(config) "
        "function"
    )


@pytest.mark.slow
def test_a_package_missing_from_the_wheel(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The entry point names a package the wheel lacks, importable here only from elsewhere (as
    from an editable install): the wheel users would get cannot load."""
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "benben_elsewhere").mkdir(parents=True)
    (elsewhere / "benben_elsewhere" / "__init__.py").write_text(GOOD_INIT, encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(elsewhere))
    project = write_project(tmp_path, entry_point='"benben_elsewhere"')
    code, lines, _ = check(project, capsys, "--no-tests")
    assert code == 1
    assert line(lines, "FAIL  plugin good") == (
        f"FAIL  plugin good: good = benben_elsewhere was imported from "
        f"{elsewhere / 'benben_elsewhere'}, not from the wheel: the wheel does not contain the "
        "package (check the project's package discovery)"
    )


@pytest.mark.slow
def test_pin_excluding_this_core(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, lines, _ = check(
        write_project(tmp_path, dependency='"benben>=98,<99"'), capsys, "--no-tests"
    )
    assert code == 1
    assert line(lines, "FAIL  benben pin") == (
        f"FAIL  benben pin: benben<99,>=98 excludes this benben {__version__}"
    )
    assert lines[-1] == "benben plugin check: 1 of 6 checks failed (benben pin)"


@pytest.mark.parametrize(
    ("requires", "level", "message"),
    [
        ([], "fail", "the plugin does not depend on benben: add benben>=X.Y,<NEXT_MAJOR"),
        (["benben"], "fail", "benben pins no version: use benben>=X.Y,<NEXT_MAJOR"),
        (
            ['benben[pytest]>=0.1,<1; extra == "test"'],
            "fail",
            "the plugin does not depend on benben: add benben>=X.Y,<NEXT_MAJOR",
        ),
        (["Benben>=0.2,<1"], "fail", "Benben<1,>=0.2 excludes this benben 0.1.0"),
        (
            ["benben>=0.1"],
            "warn",
            "benben>=0.1 has no upper bound: a new major benben may break the plugin "
            "(add <NEXT_MAJOR)",
        ),
        (["pyramid>=2", "benben~=0.1"], "ok", "benben~=0.1 (this is benben 0.1.0)"),
        (["benben==0.1.*"], "ok", "benben==0.1.* (this is benben 0.1.0)"),
    ],
)
def test_the_pin_on_benben(requires: list[str], level: str, message: str) -> None:
    assert benben_pin_problem(requires, "0.1.0") == (level, message)


@pytest.mark.slow
def test_a_pin_without_upper_bound_warns_but_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code, lines, _ = check(
        write_project(tmp_path, dependency='"benben>=0.1"'), capsys, "--no-tests"
    )
    assert code == 0
    assert line(lines, "warn  benben pin").startswith("warn  benben pin: benben>=0.1 has no upper")


@pytest.mark.slow
def test_failing_tests(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    test = GOOD_TEST + "\n\ndef test_broken():\n    assert 1 + 1 == 3\n"
    code, lines, _ = check(write_project(tmp_path, test=test), capsys)
    assert code == 1
    failure = line(lines, "FAIL  tests")
    assert failure.startswith("FAIL  tests: 1 failed, 1 passed")
    assert failure.endswith("(pytest's output above)")
    assert any("assert 1 + 1 == 3" in text for text in lines if text.startswith("      | "))
    assert lines[-1] == "benben plugin check: 1 of 7 checks failed (tests)"


@pytest.mark.slow
def test_a_project_that_does_not_build(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    project = write_project(tmp_path)
    (project / "pyproject.toml").write_text("[project\nname = broken\n", encoding="utf-8")
    code, lines, _ = check(project, capsys)
    assert code == 1
    assert line(lines, "FAIL  build") == (
        "FAIL  build: pip wheel could not build benben-good (its output above)"
    )
    assert lines[-1] == "benben plugin check: 1 of 1 checks failed (build)"


def test_not_a_project(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, lines, err = check(tmp_path, capsys)
    assert (code, lines) == (2, [])
    assert err == (
        f"benben: error: {tmp_path} is not a Python project: it has no pyproject.toml "
        "(or setup.py)\n"
    )
    code, _, err = check(tmp_path / "missing", capsys)
    assert (code, err) == (2, f"benben: error: {tmp_path / 'missing'} is not a directory\n")


@pytest.mark.parametrize(
    ("path", "is_test"),
    [
        ("benben_good/tests/test_api.py", True),
        ("benben_good/tests/helpers.py", True),
        ("benben_good/test_views.py", True),
        ("benben_good/conftest.py", True),
        ("benben_good/views.py", False),
        ("benben_good/testing.py", False),
    ],
)
def test_tests_shipped_in_the_package_follow_the_tests_rule(path: str, is_test: bool) -> None:
    assert _is_test(path) is is_test
