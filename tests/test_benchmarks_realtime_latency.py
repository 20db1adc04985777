"""benchmarks/realtime_latency.py runs end to end at a reduced size: two benben serve instances
on one PostgreSQL and one Redis, a change written through one reaching a subscriber of each
(the full-size latency figures are the benchmark's, not this test's)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from benben.testing import require_postgresql, require_redis

pytestmark = pytest.mark.slow

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "realtime_latency.py"


def test_the_realtime_latency_benchmark_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_postgresql()
    require_redis()
    spec = importlib.util.spec_from_file_location("realtime_latency", BENCHMARK)
    assert spec is not None
    assert spec.loader is not None
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    figures = benchmark.main(["--changes", "20", "--rate", "40", "--workdir", str(tmp_path)])
    assert set(figures) == {"same instance", "other instance"}
    for name, found in figures.items():
        assert found["lost"] == 0, name  # every change reached both instances' subscribers
        assert 0 < found["p50"] <= found["p99"] <= found["max"], name
    printed = capsys.readouterr().out
    assert "other/same instance p99 ratio" in printed
    assert list(tmp_path.iterdir()) == []  # its working directory removed
