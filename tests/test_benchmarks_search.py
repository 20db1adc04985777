"""benchmarks/search.py runs end to end at a reduced size on both backends: records written
through the batch API, searched (common word, rare word, phrase; default sort and relevance),
POSTs with and without searchable fields, a reindex that finds the same records (the
full-size figures are the benchmark's, not this test's)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from benben.testing import require_postgresql, require_redis

pytestmark = pytest.mark.slow

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "search.py"


def test_the_search_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    require_postgresql()
    require_redis()
    spec = importlib.util.spec_from_file_location("search_benchmark", BENCHMARK)
    assert spec is not None
    assert spec.loader is not None
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    argv = ["--records", "400", "--requests", "3", "--posts", "10", "--rounds", "2"]
    runs = benchmark.main(argv)
    assert [run["backend"] for run in runs] == ["sqlite", "postgresql"]
    for run in runs:
        assert run["loaded"] == 400
        searches = run["search"]
        assert len(searches) == 6
        for (label, _sort), result in searches.items():
            assert result["p50"] > 0
            assert result["requests"] >= 3
            # Every query finds records; the common word many more than the rare one.
            assert 0 < result["hits"] <= 400, label
        assert searches["common", "default"]["hits"] > 5 * searches["rare", "default"]["hits"]
        assert searches["common", "default"]["hits"] == searches["common", "-_rank"]["hits"]
        assert run["post"]["searchable"] > 0
        assert run["post"]["plain"] > 0
        assert len(run["post"]["ratios"]) == 2
        assert run["records"] == 420
        assert run["reindex"]["change"] > 0
        assert run["reindex"]["hits"]["common"] >= searches["common", "default"]["hits"]
    # The two backends find the same records for the same queries.
    sqlite, postgresql = ({key: r["hits"] for key, r in run["search"].items()} for run in runs)
    assert sqlite == postgresql
    printed = capsys.readouterr().out
    assert "target <= 20 ms" in printed
    assert "target >= 0.8" in printed
    assert "per million" in printed
