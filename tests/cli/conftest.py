"""Fixtures of the CLI tests: ``benben`` run in-process, in a scratch directory."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from benben.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current directory for the test (./var lands here), with no BENBEN_* setting set.

    BENBEN_TEST_* (where the test servers are, see benben.testing) are kept.
    """
    for name in list(os.environ):
        if name.startswith("BENBEN_") and not name.startswith("BENBEN_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def cli(workdir: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """``cli("config", "--json")`` runs ``benben config --json`` in this process."""

    def run(*argv: str) -> Result:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory on sys.path where tests "install" plugins (see cli_support.write_plugin)."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    return site
