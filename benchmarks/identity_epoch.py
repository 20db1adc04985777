"""The cost of the auth epoch check on the hot path: a cached, authenticated GET of one record on
the embedded default (SQLite + in-process cache), timed in process, without a network or ``wrk``.

    python benchmarks/identity_epoch.py [--requests 20000] [--rounds 5]

Prints wall-clock microseconds per request, the best and the median of the rounds (``--threads``
threads, 4 as waitress's default: a call that releases the GIL costs more then than alone), then,
where the code has one, the cost of the epoch check alone.
For an A/B comparison, run it against two checkouts (``PYTHONPATH=<checkout>/src``), alternating.
Not part of the test run.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

SETTINGS = {
    "benben.auth.argon2_time_cost": "1",
    "benben.auth.argon2_memory_cost": "64",
    "benben.auth.argon2_parallelism": "1",
    "benben.ratelimit.enabled": "false",  # the data API and identity alone
}


def build(data_dir: str) -> tuple[Any, dict[str, Any]]:
    """The app, and the WSGI environ of an authenticated GET of one record."""
    import webtest

    from benben.config import make_wsgi_app
    from benben.testing_auth import add_user, bearer, login

    app = make_wsgi_app({"benben.data_dir": data_dir, **SETTINGS})
    add_user(app.registry, "admin", is_admin=True)
    client = webtest.TestApp(app)
    headers = bearer(login(client, "admin")["access_token"])
    client.post_json("/api/v1/collections", {"id": "notes"}, headers=headers)
    record = client.post_json(
        "/api/v1/collections/notes/records", {"data": {"title": "x"}}, headers=headers
    ).json
    path = f"/api/v1/collections/notes/records/{record['id']}"
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "localhost",
        "HTTP_AUTHORIZATION": headers["Authorization"],
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    return app, environ


def per_request_us(app: Any, environ: dict[str, Any], count: int, threads: int = 1) -> float:
    """Wall-clock microseconds per request, ``threads`` threads sharing ``count`` requests (as
    waitress's threads share the GIL)."""
    if threads > 1:
        workers = [
            threading.Thread(target=per_request_us, args=(app, environ, count // threads))
            for _ in range(threads)
        ]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return (time.perf_counter() - started) / count * 1e6
    statuses: list[str] = []

    def start_response(status: str, _headers: Any, _exc_info: Any = None) -> None:
        statuses.append(status)

    started = time.perf_counter()
    for _ in range(count):
        body = app(dict(environ), start_response)
        for _chunk in body:
            pass
        if hasattr(body, "close"):
            body.close()
    elapsed = time.perf_counter() - started
    assert all(status.startswith("200") for status in statuses), set(statuses)
    return elapsed / count * 1e6


def epoch_check_us(app: Any, count: int) -> float | None:
    watcher = app.registry.get("benben.security.epoch_watcher")
    if watcher is None:
        return None
    board = app.registry["benben.cache.versions"]
    started = time.perf_counter()
    for _ in range(count):
        watcher.catch_up(board)
    return (time.perf_counter() - started) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=4, help="as waitress's default")
    options = parser.parse_args()
    import benben

    with tempfile.TemporaryDirectory() as data_dir:
        app, environ = build(data_dir)
        per_request_us(app, environ, 1000)  # warm up: caches filled, code paths loaded
        rounds = [
            per_request_us(app, environ, options.requests, options.threads)
            for _ in range(options.rounds)
        ]
        check = epoch_check_us(app, options.requests)
        app.registry["benben.db.engine"].dispose()
    print(f"code: {Path(benben.__file__).parent}")
    print(
        f"cached GET of a record: best {min(rounds):.1f} us, median "
        f"{statistics.median(rounds):.1f} us per request ({options.rounds} x {options.requests}, "
        f"{options.threads} threads)"
    )
    if check is not None:
        print(f"epoch check alone (watcher.catch_up): {check:.2f} us")


if __name__ == "__main__":
    main()
