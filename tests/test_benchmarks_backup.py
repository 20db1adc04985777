"""benchmarks/backup.py runs end to end at a reduced size: a PostgreSQL database seeded,
pg_dump and benben backup of it, verify, pg_restore and benben restore into fresh databases with
the same rows, the archive restored into SQLite and backed up again, the same bytes but for
created_at (the full-size figures are the benchmark's, not this test's)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

from benben.testing import require_postgresql
from benben.testing_services import unavailable

pytestmark = pytest.mark.slow

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "backup.py"


def test_the_backup_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    require_postgresql()
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        unavailable("pg_dump and pg_restore (postgresql-client) are not on PATH")
    spec = importlib.util.spec_from_file_location("backup_benchmark", BENCHMARK)
    assert spec is not None
    assert spec.loader is not None
    benchmark = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = benchmark  # its dataclass looks its module up
    try:
        spec.loader.exec_module(benchmark)
        results = benchmark.main(["--records", "1000", "--users", "2", "--sqlite"])
    finally:
        del sys.modules[spec.name]
    for name in ("pg_dump", "backup", "verify", "pg_restore", "restore"):
        assert results[name].seconds > 0, name
        assert results[name].peak_rss_mib > 0, name
    assert results["restore_sqlite"].seconds > 0
    assert results["archive_bytes"] > 1000 * 20
    assert results["same_archive"] is True
    assert "ratio backup/pg_dump" in capsys.readouterr().out
