"""Running ``wrk`` and reading its figures, for the benchmarks of this folder."""

from __future__ import annotations

import re
import subprocess


def run_wrk(
    url: str, duration: int, script: str | None = None, *, threads: int = 1, connections: int = 16
) -> dict[str, float]:
    """req/s, p50 and p99 (ms) and the count of non-2xx/3xx answers of one ``wrk`` run."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    if script:
        command += ["-s", script]
    out = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50": _latency_ms(out, "50%"),
        "p99": _latency_ms(out, "99%"),
        "errors": float(errors.group(1)) if errors else 0.0,
    }


def _latency_ms(out: str, percentile: str) -> float:
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", out).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
