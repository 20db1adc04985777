"""docs/api/openapi.json is core's generated document, current (``python -m benben.openapi``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from benben.openapi.__main__ import core_document, main, render_committed

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "api" / "openapi.json"


@pytest.fixture(scope="module")
def generated() -> str:
    return render_committed()


def test_committed_document_is_current(generated: str) -> None:
    assert COMMITTED.read_text(encoding="utf-8") == generated, (
        "docs/api/openapi.json is stale: run python -m benben.openapi"
    )


def test_committed_document_is_valid_and_deterministic(generated: str) -> None:
    document = json.loads(generated)
    validate(document)
    assert "servers" not in document  # a file has no server: each instance adds its own
    assert render_committed(core_document()) == generated


@pytest.fixture
def cheap_document(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command's file handling, without generating core's document each time."""
    monkeypatch.setattr("benben.openapi.__main__.render_committed", lambda: '{"Benben": 1}\n')


@pytest.mark.usefixtures("cheap_document")
def test_check_fails_on_missing_or_stale_file_and_passes_once_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "api" / "openapi.json"
    assert main(["--check", "--output", str(output)]) == 1
    assert "is missing: run python -m benben.openapi" in capsys.readouterr().err
    assert main(["--output", str(output)]) == 0
    assert main(["--check", "--output", str(output)]) == 0
    output.write_text(output.read_text(encoding="utf-8").replace("Benben", "Benbe"), "utf-8")
    assert main(["--check", "--output", str(output)]) == 1
    assert "is stale: run python -m benben.openapi" in capsys.readouterr().err


@pytest.mark.usefixtures("cheap_document")
def test_write_to_an_impossible_path_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    assert main(["--output", str(blocker / "openapi.json")]) == 1
    assert capsys.readouterr().err.startswith(f"cannot write {blocker / 'openapi.json'}")


@pytest.mark.slow
def test_the_module_runs_as_a_command_in_ci(tmp_path: Path) -> None:
    """What .ci/run calls: the committed file checks out, and nothing else is printed."""
    result = subprocess.run(
        [sys.executable, "-m", "benben.openapi", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "docs/api/openapi.json is up to date"
    assert result.stderr == ""
