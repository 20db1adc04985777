"""Fixtures of the Backstage plugin's tests."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from backstage_support import FakeBackstage, fake_backstage, install_catalog_model

from benben.cli import main
from benben.settings import env_name
from benben.testing import Backends


@pytest.fixture(scope="session")
def catalog_model() -> Path:
    """Where Backstage's @backstage/catalog-model is installed (npm ci once, into .cache/)."""
    return install_catalog_model()


@pytest.fixture
def fake() -> Iterator[FakeBackstage]:
    """A scripted stand-in for Backstage's catalog API on a loopback port."""
    with fake_backstage() as backstage:
        yield backstage


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def benben(
    backends: Backends,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Callable[..., Result]:
    """``benben("backstage", "register")`` runs the command in this process, in a scratch
    directory, with this run's backends as ``BENBEN_*`` variables (and no other)."""
    for name in list(os.environ):
        if name.startswith("BENBEN_") and not name.startswith("BENBEN_TEST_"):
            monkeypatch.delenv(name)
    for key, value in backends.settings().items():
        monkeypatch.setenv(env_name(key), str(value))
    monkeypatch.chdir(tmp_path)

    def run(*argv: str) -> Result:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
