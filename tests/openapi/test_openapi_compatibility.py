"""The committed OpenAPI document keeps v1's promises: nothing the baseline offers is broken.

docs/api/openapi-v1-baseline.json is what v1 promises; it changes only at a major version or
by a deliberate, reviewed commit (docs/api-stability.md).  docs/api/openapi.json is checked
current by test_openapi_committed.py, so comparing the two checks the code.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from benben.openapi.compat import BASELINE, CURRENT, breaking_changes

ROOT = Path(__file__).resolve().parents[2]
STABILITY = ROOT / "docs" / "api-stability.md"


def test_committed_document_is_compatible_with_the_v1_baseline() -> None:
    baseline = json.loads((ROOT / BASELINE).read_text(encoding="utf-8"))
    current = json.loads((ROOT / CURRENT).read_text(encoding="utf-8"))
    breaks = breaking_changes(baseline, current)
    assert breaks == [], (
        f"{CURRENT} breaks clients of {BASELINE}:\n  " + "\n  ".join(breaks) + "\nRestore what "
        "v1 promised (deprecate first: docs/api-stability.md); only a deliberate, reviewed "
        f"change re-snapshots the baseline: cp {CURRENT} {BASELINE}"
    )


def test_baseline_is_an_openapi_document_of_v1() -> None:
    baseline = json.loads((ROOT / BASELINE).read_text(encoding="utf-8"))
    assert baseline["openapi"].startswith("3.1.")
    assert any(path.startswith("/api/v1/") for path in baseline["paths"])


def test_the_check_runs_as_a_command_with_its_defaults() -> None:
    """What a developer runs (and the error message names): no arguments, from the root."""
    result = subprocess.run(
        [sys.executable, "-m", "benben.openapi.compat"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_promised_problem_types_still_exist() -> None:
    """Error ``type`` URIs are promised by docs/api-stability.md; the document cannot show them
    (``type`` is a free string there), so each listed one must still be raised somewhere."""
    promised = set(re.findall(r"urn:benben:problem:[a-z0-9-]+", STABILITY.read_text("utf-8")))
    assert "urn:benben:problem:validation-error" in promised
    sources = "\n".join(
        path.read_text(encoding="utf-8")
        for tree in ("src", "plugins")
        for path in (ROOT / tree).rglob("*.py")
    )
    assert sorted(t for t in promised if f'"{t}"' not in sources) == []


def test_every_problem_type_raised_is_promised() -> None:
    """A new error ``type`` is part of v1 from its first release: it must join the table."""
    promised = set(re.findall(r"urn:benben:problem:[a-z0-9-]+", STABILITY.read_text("utf-8")))
    raised = {
        found
        for tree in ("src", "plugins")
        for path in (ROOT / tree).rglob("*.py")
        for found in re.findall(r"urn:benben:problem:[a-z0-9-]+", path.read_text("utf-8"))
    }
    assert sorted(raised - promised) == []
