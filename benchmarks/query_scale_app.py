"""Benben under waitress (``threads=4``) for query_scale.py, with a statement log: each
statement's durations as the app timed them, and its last parameters, written as JSON to the
file named by the second argument when the process is terminated.

    python benchmarks/query_scale_app.py PORT LOG_PATH   (settings from BENBEN_* variables)
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import time
from typing import Any

import waitress
from sqlalchemy import event

from benben.config import make_wsgi_app
from benben.db import get_engine


def main(port: int, log_path: str) -> None:
    app = make_wsgi_app({}, setup_logging=True)
    logging.getLogger("benben.access").setLevel(logging.WARNING)
    log: dict[str, dict[str, Any]] = {}
    engine = get_engine(app.registry)

    @event.listens_for(engine, "before_cursor_execute")
    def _started(conn: Any, *_args: Any) -> None:
        conn.info["bench.started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _ended(conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        entry = log.setdefault(statement, {"ms": [], "parameters": None})
        entry["ms"].append((time.perf_counter() - conn.info["bench.started"]) * 1000)
        if isinstance(parameters, dict):
            entry["parameters"] = {
                name: [type(value).__name__, str(value)] for name, value in parameters.items()
            }

    def _stop(*_args: Any) -> None:
        with open(log_path, "w") as out:
            json.dump(log, out)
        sys.exit(0)

    signal.signal(signal.SIGTERM, _stop)
    waitress.serve(app, host="127.0.0.1", port=port, threads=4, _quiet=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
