"""The plugin template rendered (``benben plugin new``): every file, valid and ruff-clean, for
short and long names; the names and answers it refuses; the record it leaves."""

from __future__ import annotations

import ast
import json
import tomllib
from pathlib import Path

import pytest
import yaml
from sdk_support import generate, ruff

from benben.cli import main
from benben.cli.common import CommandError
from benben.plugins.compat import PLUGIN_API_LEVEL
from benben.sdk.scaffold import (
    RECORD,
    TEMPLATE_DIGEST,
    TEMPLATE_DIR,
    TEMPLATE_VERSION,
    Answers,
    core_pin,
    file_digest,
    new_plugin,
    render,
    template_digest,
)
from benben.version import __version__

NAMES = ["notes", "x", "a_very_long_plugin_name_of_forty_chars_x"]
LONGEST_DESCRIPTION = "Seventy-two characters: the longest description a plugin may be given ok"


def test_the_template_digest_goes_with_its_version() -> None:
    assert len(LONGEST_DESCRIPTION) == 72
    assert template_digest() == TEMPLATE_DIGEST, (
        "the plugin template changed: bump TEMPLATE_VERSION in benben/sdk/scaffold.py and set "
        f"TEMPLATE_DIGEST = {template_digest()!r}"
    )


def test_every_template_file_is_jinja() -> None:
    files = [p for p in TEMPLATE_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert files
    assert [p for p in files if p.suffix != ".jinja"] == []
    assert not [p for p in files if p.name.startswith(".")], "dot-files are named dot-..."


@pytest.mark.parametrize("name", NAMES)
def test_every_file_is_rendered_and_valid(name: str) -> None:
    files = render(Answers(name, LONGEST_DESCRIPTION, "Ada Lovelace"))
    package = f"benben_{name}"
    assert {
        ".gitignore",
        ".github/workflows/ci.yml",
        "README.md",
        "CHANGELOG.md",
        "pyproject.toml",
        f"src/{package}/__init__.py",
        f"src/{package}/models.py",
        f"src/{package}/views.py",
        f"src/{package}/static/page.js",
        f"src/{package}/migrations/{name}_0001_notes.py",
        "tests/test_api.py",
    } <= set(files)
    for path, content in files.items():
        assert not any(mark in path for mark in ("{{", ".jinja", "dot-")), path
        text = content.decode()
        # GitHub's own expressions are ${{ ... }}; nothing else is left of Jinja.
        assert "{{" not in text.replace("${{", ""), path
        assert not any(mark in text for mark in ("{%", "{#")), path
        if path.endswith(".py"):
            ast.parse(text, path)
        elif path.endswith(".toml"):
            tomllib.loads(text)
        elif path.endswith(".yml"):
            assert yaml.safe_load(text)["jobs"]["test"]["services"].keys() == {"postgres", "redis"}


def test_the_project_pins_this_benben_and_declares_its_entry_point(tmp_path: Path) -> None:
    project = generate(tmp_path, "notes", description="Notes for Benben.", author="Ada")
    meta = tomllib.loads((project / "pyproject.toml").read_text())
    assert meta["project"]["name"] == "benben-notes"
    assert meta["project"]["version"] == "0.1.0"
    assert meta["project"]["description"] == "Notes for Benben."
    assert meta["project"]["authors"] == [{"name": "Ada"}]
    assert meta["project"]["dependencies"] == [f"benben{core_pin()}"]
    assert (
        f"benben[pytest,postgresql,redis]{core_pin()}"
        in meta["project"]["optional-dependencies"]["test"]
    )
    assert meta["project"]["entry-points"]["benben.plugins"] == {"notes": "benben_notes"}
    assert "Framework :: Pyramid" in meta["project"]["classifiers"]
    assert meta["tool"]["pytest"]["ini_options"]["filterwarnings"] == ["error"]
    init = (project / "src/benben_notes/__init__.py").read_text()
    assert f"api={PLUGIN_API_LEVEL}," in init
    imported = {
        node.module
        for path in (project / "src").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
    }
    assert {m for m in imported if m.split(".")[0] == "benben"} == {"benben.plugin"}


@pytest.mark.parametrize(
    ("version", "pin"),
    [("0.1.0", ">=0.1,<1"), ("0.7.2.dev1", ">=0.7,<1"), ("1.0", ">=1.0,<2"), ("2.3.1", ">=2.3,<3")],
)
def test_the_pin_is_this_minor_up_to_the_next_major(version: str, pin: str) -> None:
    assert core_pin(version) == pin


def test_the_record_names_the_template_benben_answers_and_every_file(tmp_path: Path) -> None:
    project = generate(tmp_path, "notes", description="Notes for Benben.")
    record = json.loads((project / RECORD).read_text())
    assert record["template_version"] == TEMPLATE_VERSION
    assert record["benben_version"] == __version__
    assert record["answers"] == {"name": "notes", "description": "Notes for Benben.", "author": ""}
    written = {
        p.relative_to(project).as_posix(): file_digest(p.read_bytes())
        for p in project.rglob("*")
        if p.is_file() and p.name != RECORD
    }
    assert record["files"] == written


@pytest.mark.parametrize("name", NAMES)
def test_the_generated_code_is_ruff_clean(tmp_path: Path, name: str) -> None:
    project = generate(tmp_path, name, description=LONGEST_DESCRIPTION, author="Ada Lovelace")
    checked = ruff(project, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    formatted = ruff(project, "format", "--check")
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Notes", "invalid plugin name 'Notes': 1-40 lowercase letters"),
        ("2notes", "invalid plugin name '2notes'"),
        ("my-notes", "invalid plugin name 'my-notes'"),
        ("n" * 41, "1-40 lowercase letters"),
        ("api", "invalid plugin name 'api': Benben reserves it"),
        ("users", "Benben reserves it"),
        ("webhooks", "a plugin named 'webhooks' is already installed (by benben)"),
    ],
)
def test_bad_names_are_refused(tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        new_plugin(name, tmp_path / "project")
    assert not (tmp_path / "project").exists()


@pytest.mark.parametrize(
    "description", ['Say "hi"', "back\\slash", "two\nlines", "x" * 73, "tick `code`"]
)
def test_descriptions_that_do_not_fit_are_refused(tmp_path: Path, description: str) -> None:
    with pytest.raises(CommandError, match="the description must be one line of at most 72"):
        new_plugin("notes", tmp_path / "project", description=description)


def test_an_existing_directory_is_written_only_if_empty_or_forced(tmp_path: Path) -> None:
    target = tmp_path / "project"
    target.mkdir()
    new_plugin("notes", target)  # empty: fine
    (target / "mine.txt").write_text("mine")
    with pytest.raises(CommandError, match="project exists and is not empty"):
        new_plugin("notes", target)
    (target / "README.md").write_text("changed")
    new_plugin("notes", target, force=True)
    assert (target / "mine.txt").read_text() == "mine"
    assert (target / "README.md").read_text().startswith("# benben-notes")
    (tmp_path / "file").write_text("")
    with pytest.raises(CommandError, match="file exists and is not a directory"):
        new_plugin("notes", tmp_path / "file")


def test_the_command_writes_benben_name_here_and_says_what_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["plugin", "new", "my_notes", "--description", "Mine.", "--author", "Ada"]) == 0
    out = capsys.readouterr().out
    assert "Created plugin 'my_notes' in benben-my-notes/" in out
    assert "pip install -e '.[test]'" in out
    project = tmp_path / "benben-my-notes"
    assert (project / "src/benben_my_notes/__init__.py").is_file()
    assert json.loads((project / RECORD).read_text())["answers"]["author"] == "Ada"
    assert main(["plugin", "new", "my_notes"]) == 1
    assert "benben-my-notes exists and is not empty" in capsys.readouterr().err
    assert main(["plugin", "new", "Nope", "--directory", str(tmp_path / "d")]) == 1
    assert "invalid plugin name 'Nope'" in capsys.readouterr().err
