"""benchmarks/files_throughput.py runs: `benben serve` takes an upload from disk and serves it
back (size and sha256 checked by the benchmark itself), with small files so that it is cheap."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "files_throughput.py"


def test_the_files_benchmark_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    spec = importlib.util.spec_from_file_location("files_throughput", BENCHMARK)
    assert spec is not None
    assert spec.loader is not None
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    argv = ["--size-mib", "8", "--rss-mib", "16", "--rounds", "1", "--workdir", str(tmp_path)]
    figures = benchmark.main(argv)
    for figure in ("copy", "upload", "download"):
        assert figures[figure] > 0, figure
    # Streamed both ways: a 16 MiB upload does not grow the server by its size.
    assert figures["rss"] < 16
    printed = capsys.readouterr().out
    assert "ratio to copy" in printed
    assert list(tmp_path.iterdir()) == []  # its temporary directory removed
