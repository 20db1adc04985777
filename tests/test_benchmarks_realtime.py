"""benchmarks/realtime_subscribers.py runs end to end at a reduced size: a real benben serve on
PostgreSQL + Redis, wrk on a cached read, subscribers of the change stream receiving every
change a writer makes (the full-size figures are the benchmark's, not this test's)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from benben.testing import require_postgresql, require_redis, unavailable

pytestmark = pytest.mark.slow

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "realtime_subscribers.py"


def test_the_realtime_subscribers_benchmark_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_postgresql()
    require_redis()
    if shutil.which("wrk") is None:
        unavailable("wrk is not installed")
    spec = importlib.util.spec_from_file_location("realtime_subscribers", BENCHMARK)
    assert spec is not None
    assert spec.loader is not None
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    argv = ["--subscribers", "20", "--duration", "1", "--rate", "10", "--rounds", "1",
            "--workers", "1", "--workdir", str(tmp_path)]  # fmt: skip
    figures = benchmark.main(argv)
    (loaded,) = figures["rounds"]
    assert loaded["opened"] == 20
    assert loaded["connected"] == 20
    assert loaded["written"] > 0
    assert loaded["fewest"] >= loaded["written"]  # every subscriber got every change
    for run in [*figures["baselines"], loaded["loaded"]]:
        assert run["rps"] > 0
        assert run["errors"] == 0
    assert "Traceback" not in figures["server_log"]
    assert "ratio with/without" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []  # its temporary directory removed
