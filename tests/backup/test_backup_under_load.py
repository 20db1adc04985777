"""A backup taken while the server takes writes: the archive restores to a state that existed
(no write half in it: each write is a batch of several records, history and events, plus a
counter naming the last batch), and the server answered every write.

The backup pauses at each table so that writes commit between the tables it reads: a backup
reading each table at its own moment would then tear batches apart.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
from restore_support import PASSWORD, empty_target

from benben.backup.dump import create_backup
from benben.backup.progress import Progress
from benben.backup.restore import restore_archive
from benben.testing_auth import add_user, bearer, login
from benben.testing_streams import serve_streaming

WRITERS = 3
BATCH = 4  # records a write creates, with the counter's update, in one transaction
RECORDS = "/api/v1/collections/load/records"


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    return {**app_settings, "benben.ratelimit.enabled": "false"}  # writers as fast as they go


class PausingProgress(Progress):
    """Waits at the start of every table, while the writers go on."""

    def __init__(self, pause: float) -> None:
        super().__init__(None, enabled=False, terminal=False)  # type: ignore[arg-type]
        self.pause = pause

    @contextmanager
    def task(self, label: str, total: int | None = None, unit: str = "rows") -> Any:
        time.sleep(self.pause)
        with super().task(label, total, unit) as bar:
            yield bar


class Writer(threading.Thread):
    """Writes batch after batch over HTTP until stopped; every answer's status is kept."""

    def __init__(self, base: str, headers: dict[str, str], number: int) -> None:
        super().__init__(daemon=True)
        self.address = urlsplit(base)
        self.headers = {**headers, "Content-Type": "application/json"}
        self.number = number
        self.generation = 0
        self.statuses: list[int] = []
        self.refusals: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        connection = http.client.HTTPConnection(self.address.hostname, self.address.port, 30)
        try:
            self.write_until_stopped(connection)
        finally:
            connection.close()

    def write_until_stopped(self, connection: http.client.HTTPConnection) -> None:
        while not self.stop.is_set():
            generation = self.generation + 1
            requests = [
                {
                    "method": "PUT",
                    "path": f"{RECORDS}/w{self.number}-{generation}-{item}",
                    "body": {"data": {"writer": self.number, "generation": generation}},
                }
                for item in range(BATCH)
            ]
            requests.append(
                {
                    "method": "PUT",
                    "path": f"{RECORDS}/counter-{self.number}",
                    "body": {"data": {"writer": self.number, "generation": generation}},
                }
            )
            body = json.dumps({"requests": requests})
            connection.request("POST", "/api/v1/batch", body, self.headers)
            response = connection.getresponse()
            answer = response.read()
            self.statuses.append(response.status)
            if response.status != 200:
                self.refusals.append(answer.decode(errors="replace"))
            if response.status == 200:
                self.generation = generation


def wait_for(writers: list[Writer], generation: int, timeout: float = 60) -> None:
    """Until every writer has written ``generation`` batches (or stopped being answered)."""
    deadline = time.monotonic() + timeout
    while min(writer.generation for writer in writers) < generation:
        assert not any(writer.refusals for writer in writers), writers[0].refusals[:1]
        assert time.monotonic() < deadline, "the writers stalled"
        time.sleep(0.01)


def every_item(app: Any, url: str, headers: dict[str, str]) -> list[Any]:
    """Every item of a list, page after page (the API's ``next`` links)."""
    items: list[Any] = []
    while url:
        page = app.get(url, headers=headers).json
        items.extend(page["data"])
        # The feed always has a next page (to poll): an empty one is its end for now.
        url = (
            page["data"]
            and page["next"]
            and urlsplit(page["next"])._replace(scheme="", netloc="").geturl()
        )
    return items


def check_a_state_that_existed(app: Any, headers: dict[str, str]) -> dict[int, int]:
    """Each writer's counter names its last batch; every batch up to it is whole, none after
    it is there; history and the feed hold exactly those writes.  Returns the counters."""
    records = every_item(app, RECORDS, headers)
    counters = {r["data"]["writer"]: r["data"]["generation"] for r in records if r["id"][0] == "c"}
    batches: dict[tuple[int, int], int] = defaultdict(int)
    for record in records:
        if record["id"].startswith("w"):
            batches[(record["data"]["writer"], record["data"]["generation"])] += 1
    expected = {
        (writer, generation): BATCH
        for writer, last in counters.items()
        for generation in range(1, last + 1)
    }
    assert dict(batches) == expected
    history = [
        entry
        for entry in every_item(app, "/api/v1/collections/load/history", headers)
        if entry["resource"] == "record"
    ]
    assert len(history) == len(records) + sum(counters.values()) - len(counters)
    writes = "type=record.created,record.updated&collection=load"
    events = every_item(app, f"/api/v1/events?{writes}", headers)
    assert len(events) == len(history)
    return counters


def test_a_backup_during_writes_restores_a_state_that_existed(
    app, backends, session_backends, tmp_path
):
    registry = app.app.registry
    add_user(registry, "admin", PASSWORD, is_admin=True)
    admin = bearer(login(app, "admin", PASSWORD)["access_token"])
    app.post_json("/api/v1/collections", {"id": "load"}, headers=admin)
    with serve_streaming(app.app, threads=4) as base:
        writers = [Writer(base, admin, number) for number in range(WRITERS)]
        for writer in writers:
            writer.start()
        wait_for(writers, 2)
        before = sum(len(writer.statuses) for writer in writers)
        archive = create_backup(
            registry, str(tmp_path / "load.tar"), progress=PausingProgress(0.02)
        )
        during = sum(len(writer.statuses) for writer in writers) - before
        wait_for(writers, 2 + during // WRITERS + 2)
        for writer in writers:
            writer.stop.set()
            writer.join(30)
    # The server answered every write, during the backup too (no error, no lock timeout).
    assert [refusal for writer in writers for refusal in writer.refusals] == []
    assert during >= WRITERS  # writes committed while the backup read its tables
    final = {writer.number: writer.generation for writer in writers}

    with empty_target(session_backends, tmp_path, backends.database) as target:
        restore_archive(target.registry, archive.location)
        restored = target.app(**{"benben.ratelimit.enabled": "false"})
        headers = bearer(login(restored, "admin", PASSWORD)["access_token"])
        counters = check_a_state_that_existed(restored, headers)
    # A state in the middle of the writes: some batches in, the last ones not.
    assert all(2 <= counters[number] < final[number] for number in final)
