"""Webhook delivery: throughput of one ``benben worker`` to a loopback receiver, and the full-size
proof that a worker killed with SIGKILL loses no event.

For each backend (PostgreSQL + Redis, SQLite + the in-process cache; the broker is Redis for
both), ``--events`` records are written through the API with one endpoint subscribed
(``max_in_flight`` ``--in-flight``), then:

- throughput: one ``benben worker`` (its default pool: 4 threads) fans the events out and sends
  them; printed in events/s, from the worker's first delivery to its last, and as a ratio to
  the baseline measured in the same run: the same number of signed POSTs sent straight to the
  same receiver by ``--in-flight`` threads (what the sending alone could reach);
- ``--kills N`` (default 3): the same again, the worker killed with SIGKILL N times while
  delivering and restarted: every event delivered, each signature valid (the standardwebhooks
  library), duplicates only of deliveries in flight at a kill (at most ``--in-flight`` each).

    python benchmarks/webhooks_delivery.py [--events 10000] [--in-flight 16] [--kills 3]
                                           [--backends postgresql,sqlite]

Needs PostgreSQL and Redis as the test suite expects them.  Not part of the test run (the
tests run the proof with 500 events: tests/webhooks/test_webhooks_proofs.py).
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "webhooks"))

from webhooks_delivery_support import Receiver  # noqa: E402
from webhooks_proofs_support import WorkerProcess, duplicates, wait_for, worker_environ  # noqa: E402

LOOPBACK = "127.0.0.0/8 ::1/128"


def settings_for(backend: str, workdir: Path, prefix: str, schema: str | None) -> dict[str, Any]:
    from benben.testing_auth import FAST_PASSWORD_HASHING
    from benben.testing_services import postgresql_url, require_redis

    settings: dict[str, Any] = {
        "benben.data_dir": str(workdir / "var"),
        "benben.database.auto_migrate": "true",
        "benben.ratelimit.enabled": "false",
        "benben.webhooks.allowed_networks": LOOPBACK,
        "benben.worker.broker_url": require_redis(),
        "benben.worker.queue_prefix": prefix,
        "benben.worker.scheduler_lock": f"{prefix}scheduler",
        "benben.worker.scheduler_standby_seconds": "1",
        "benben.webhooks.timeout": "5",
        **FAST_PASSWORD_HASHING,
    }
    if backend == "postgresql":
        from sqlalchemy.engine import make_url

        url = make_url(postgresql_url()).update_query_dict({"options": f"-csearch_path={schema}"})
        settings["benben.database.url"] = url.render_as_string(hide_password=False)
        settings["benben.cache.backend"] = "redis"
        settings["benben.cache.url"] = require_redis()
        settings["benben.cache.prefix"] = prefix
    return settings


class Setup:
    """An app on a fresh database, a user, a collection and one endpoint to ``url``."""

    def __init__(self, settings: dict[str, Any], url: str, in_flight: int) -> None:
        import webtest

        from benben.config import configure
        from benben.db import get_engine, migration_sources
        from benben.db.migrations import upgrade
        from benben.router import make_router
        from benben.testing_auth import add_user, bearer, login

        config = configure(settings, environ={})
        upgrade(get_engine(config.registry), migration_sources(config.registry))
        self.registry = config.registry
        self.app = webtest.TestApp(make_router(config))
        add_user(self.registry, "bench")
        self.headers = bearer(login(self.app, "bench")["access_token"])
        self.app.put_json("/api/v1/collections/bench", {}, headers=self.headers, status=201)
        body = {"url": url, "event_types": ["record.*"], "collections": ["bench"],
                "max_in_flight": in_flight}  # fmt: skip
        self.endpoint = self.app.post_json("/api/v1/webhooks", body, headers=self.headers).json

    def write(self, count: int) -> float:
        started = time.perf_counter()
        for number in range(count):
            url = f"/api/v1/collections/bench/records/r{number}"
            self.app.put_json(url, {"data": {"n": number}}, headers=self.headers, status=201)
        return count / (time.perf_counter() - started)

    def succeeded(self) -> int:
        from sqlalchemy import func, select

        from benben.db import session_factory
        from benben_webhooks.models import Delivery

        with session_factory(self.registry)() as session:
            query = select(func.count()).where(Delivery.status == "succeeded")
            return int(session.scalar(query.select_from(Delivery)) or 0)

    def close(self) -> None:
        from benben.db import get_engine

        get_engine(self.registry).dispose()


def baseline(url: str, secret: str, count: int, threads: int) -> float:
    """Signed POSTs straight to the receiver, ``threads`` at once: events/s."""
    from benben_webhooks.sending import send
    from benben_webhooks.signing import headers as signed

    networks = (ipaddress.ip_network("127.0.0.0/8"),)
    body = b'{"type":"record.created","data":{"collection":"bench","id":"r"}}'

    def one(number: int) -> None:
        headers = signed([secret], f"msg_base{number}", int(time.time()), body)
        send(url, body, headers, timeout=5, allowed_networks=networks)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, range(count)))
    return count / (time.perf_counter() - started)


def run_backend(backend: str, args: argparse.Namespace, workdir: Path) -> None:
    from benben.testing_services import postgresql_url

    schema = f"bench_{uuid.uuid4().hex[:12]}" if backend == "postgresql" else None
    admin = None
    if schema is not None:
        from sqlalchemy import create_engine, text

        admin = create_engine(postgresql_url())
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        for kills in sorted({0, args.kills}):
            prefix = f"bench-{uuid.uuid4().hex[:8]}."
            run_once(backend, args, workdir / f"{backend}-{kills}", prefix, schema, kills)
            if schema is not None and admin is not None:
                from sqlalchemy import text

                with admin.begin() as connection:  # a fresh schema for the next run
                    connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                    connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        if schema is not None and admin is not None:
            from sqlalchemy import text

            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()


def run_once(
    backend: str, args: argparse.Namespace, workdir: Path, prefix: str, schema: str | None,
    kills: int,
) -> None:  # fmt: skip
    workdir.mkdir(parents=True)
    settings = settings_for(backend, workdir, prefix, schema)
    count = args.events
    with Receiver(keep_alive=True) as receiver:
        setup = Setup(settings, receiver.url, args.in_flight)
        receiver.secrets = [setup.endpoint["secret"]]
        writes = setup.write(count)
        worker = WorkerProcess(worker_environ(settings), workdir / "worker.log", "--beat")
        worker.start()
        try:
            for kill in range(1, kills + 1):
                target = count * kill // (kills + 1)
                wait_for(lambda t=target: len(receiver.received) >= t, f"{target} received",
                         600, [worker])  # fmt: skip
                worker.kill()
                worker.start()
            wait_for(lambda: setup.succeeded() == count, "every delivery", 1800, [worker])
        finally:
            worker.stop()
        received = list(receiver.received)
        base = baseline(receiver.url, setup.endpoint["secret"], min(count, 2000), args.in_flight)
        setup.close()
    messages = [got.message_id for got in received]
    span = received[-1].at - received[0].at if len(received) > 1 else float("nan")
    rate = len(received) / span if span else float("nan")
    again = duplicates(messages)
    extra = sum(n - 1 for n in again.values())
    valid = all(got.verified for got in received)
    complete = len(set(messages)) == count
    label = f"{backend}, {kills} kills" if kills else backend
    print(f"{label}: {count} events written at {writes:,.0f}/s")
    if kills:
        bound = worker.kills * args.in_flight
        ok = complete and valid and extra <= bound
        print(f"  every event delivered: {complete}; signatures valid: {valid}; duplicates: "
              f"{extra} (bound {bound}: {worker.kills} kills x max_in_flight) -> "
              f"{'PASS' if ok else 'FAIL'}")  # fmt: skip
    else:
        print(f"  delivered {len(received)} in {span:.1f} s: {rate:,.0f} events/s; baseline "
              f"(signed POSTs, {args.in_flight} threads) {base:,.0f}/s; ratio "
              f"{rate / base:.2f}; duplicates {extra}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--in-flight", type=int, default=16)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--backends", default="postgresql,sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="benben-webhooks-bench-") as directory:
        for backend in args.backends.split(","):
            run_backend(backend.strip(), args, Path(directory))


if __name__ == "__main__":
    main()
