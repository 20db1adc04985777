"""``benben import``: lines of a file into one collection, through ``POST /api/v1/batch``.

Each line becomes ``PUT /api/v1/collections/{cid}/records/{id}`` (create or replace); lines are
checked first (:mod:`.reading`) and sent in chunks, one batch each (all or nothing, at most
``benben.data.batch_max_operations`` operations and 90% of the body size limit).  A batch the
server still refuses is sent again line by line, each alone: the refused ones are reported, the
others stored.  A ``412`` to a line sent with ``If-None-Match: *`` means an earlier run stored
it already: skipped, not refused.

After each chunk the state file records how far the import went (:mod:`.state`); a rerun
continues after the last chunk recorded.  A dry run sends the same requests in transactions
that are aborted, and keeps no state.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from benben.transfer.client import (
    Answer,
    Client,
    TransferError,
    collection_path,
    fetch_collection,
    problem_message,
)
from benben.transfer.reading import Line, LineChecker, Source, open_source, read_lines
from benben.transfer.state import ImportState, default_state_path, load_state, remove_state

__all__ = ["CHUNK_SIZE", "ImportResult", "Rejection", "import_records"]

CHUNK_SIZE = 500
SHOWN_REJECTIONS = 20
BODY_SHARE = 0.9  # of benben.security.max_body_size a batch's body may take
BATCH_PATH = "/api/v1/batch"


@dataclass(frozen=True)
class Rejection:
    """One reason a line was not imported; ``pointer`` is relative to the line's record."""

    line: int
    pointer: str
    message: str

    def text(self) -> str:
        if self.pointer:
            return f"line {self.line}: {self.pointer}: {self.message}"
        return f"line {self.line}: {self.message}"

    def json(self) -> dict[str, Any]:
        return {"line": self.line, "pointer": self.pointer, "message": self.message}


@dataclass
class ImportResult:
    collection: str
    source: str
    dry_run: bool
    state: ImportState
    resumed_after: int | None = None
    lines: int = 0  # lines read by this run
    shown: list[Rejection] = field(default_factory=list)  # this run's first rejections

    @property
    def imported(self) -> int:
        return self.state.imported

    @property
    def skipped(self) -> int:
        return self.state.skipped

    @property
    def rejected_lines(self) -> int:
        return self.state.rejected_lines

    @property
    def rejections(self) -> int:
        return self.state.rejections


class _Import:
    """One run: the chunks, what each line became, the report and the state file."""

    def __init__(self, client: Client, collection_id: str, result: ImportResult,
                 report: IO[str] | None, state_path: Path | None) -> None:  # fmt: skip
        self.client = client
        self.collection_id = collection_id
        self.result = result
        self.report = report
        self.state_path = state_path
        settings = client.settings
        self.chunk_size = min(CHUNK_SIZE, int(settings["benben.data.batch_max_operations"]))
        self.byte_limit = int(int(settings["benben.security.max_body_size"]) * BODY_SHARE)

    def run(self, lines: Iterator[Line], task: Any) -> None:
        chunk: list[Line] = []
        refused: list[Rejection] = []
        size = 0
        settled = self.result.state.line
        for line in lines:
            full = len(chunk) + len(refused) >= self.chunk_size
            if chunk and line.size and size + line.size > self.byte_limit:
                full = True
            if full:
                self.finish(chunk, refused, line.number - 1, task)
                chunk, refused, size = [], [], 0
            if line.errors:
                refused += [Rejection(line.number, p, m) for p, m in line.errors]
                self.result.state.rejected_lines += 1
            else:
                chunk.append(line)
                size += line.size
            settled = line.number
            self.result.lines += 1
        self.finish(chunk, refused, settled, task)

    def finish(self, chunk: list[Line], refused: list[Rejection], through: int, task: Any) -> None:
        """Send the chunk, report its refusals, and record that every line up to ``through``
        is settled."""
        state = self.result.state
        if chunk:
            refused += self.send(chunk)
        refused.sort(key=lambda rejection: rejection.line)
        for rejection in refused:
            state.rejections += 1
            if len(self.result.shown) < SHOWN_REJECTIONS:
                self.result.shown.append(rejection)
            if self.report is not None:
                self.report.write(_json_line(rejection.json()))
        if self.report is not None:
            self.report.flush()
            state.report_size = self.report.tell()
        task.update(max(through - state.line, 0))
        state.line = max(through, state.line)
        if self.state_path is not None:
            state.save(self.state_path)

    def send(self, chunk: list[Line]) -> list[Rejection]:
        """The chunk as one batch; line by line when the batch is refused."""
        operations = [self.operation(line) for line in chunk]
        answer = self.client.call("POST", BATCH_PATH, {"requests": operations})
        if answer.ok:
            self.result.state.imported += len(chunk)
            return []
        body = answer.body if isinstance(answer.body, dict) else {}
        if answer.status == 413 or ("operation" in body and answer.status not in (401, 429)):
            refused: list[Rejection] = []
            for line, operation in zip(chunk, operations, strict=True):
                refused += self.send_alone(line, operation)
            return refused
        raise TransferError(f"the batch of lines {chunk[0].number}-{chunk[-1].number} failed: "
                            f"{problem_message(answer)}")  # fmt: skip

    def operation(self, line: Line) -> dict[str, Any]:
        assert line.record_id is not None
        assert line.body is not None
        operation: dict[str, Any] = {
            "method": "PUT",
            "path": f"{collection_path(self.collection_id)}/records/{line.record_id}",
            "body": line.body,
        }
        if line.conditional:
            operation["headers"] = {"If-None-Match": "*"}
        return operation

    def send_alone(self, line: Line, operation: dict[str, Any]) -> list[Rejection]:
        answer = self.client.call(
            "PUT", operation["path"], operation["body"], operation.get("headers")
        )
        if answer.ok:
            self.result.state.imported += 1
            return []
        if answer.status == 412 and line.conditional:  # stored by an earlier run
            self.result.state.skipped += 1
            return []
        if answer.status == 401 or answer.status >= 500:
            raise TransferError(f"line {line.number}: {problem_message(answer)}")
        self.result.state.rejected_lines += 1
        return _rejections(line.number, answer)


def _rejections(number: int, answer: Answer) -> list[Rejection]:
    """A refusal's errors, pointing into the line's record; else its detail (and status)."""
    problem = answer.body if isinstance(answer.body, dict) else {}
    found = []
    for error in problem.get("errors") or ():
        if not isinstance(error, dict):
            continue
        message = str(error.get("message", "invalid"))
        if error.get("location") == "body" and "pointer" in error:
            found.append(Rejection(number, str(error["pointer"]), message))
        else:
            name = error.get("name")
            found.append(Rejection(number, "", f"{name}: {message}" if name else message))
    if found:
        return found
    said = " ".join(str(problem.get("detail") or problem.get("title") or "refused").split())
    return [Rejection(number, "", f"{said} ({answer.status})")]


def _json_line(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False) + "\n"


@contextmanager
def _report_file(path: str | None, state: ImportState, resuming: bool) -> Iterator[IO[str] | None]:
    """The report, all rejections as JSON lines; a resumed run's is cut back to where the
    state was saved, then appended to."""
    if path is None:
        yield None
        return
    same = resuming and state.report == os.path.abspath(path) and os.path.exists(path)
    handle = open(path, "r+" if same else "w", encoding="utf-8")  # noqa: SIM115
    with handle:
        if same:
            handle.truncate(state.report_size)
            handle.seek(state.report_size)
        else:
            state.report_size = 0
        state.report = os.path.abspath(path)
        yield handle


def import_records(
    client: Client,
    collection_id: str,
    path: str,
    *,
    format: str | None = None,
    dry_run: bool = False,
    state_path: str | None = None,
    report_path: str | None = None,
    progress: Any = None,
) -> ImportResult:
    """Import ``path`` (``-``: standard input) into the collection; see the module docstring."""
    from benben.backup.progress import make_progress

    progress = progress if progress is not None else make_progress(enabled=False)
    collection = fetch_collection(client, collection_id)
    source = open_source(path, format)
    state, state_file, resumed = _start(source, collection_id, state_path, dry_run)
    result = ImportResult(collection_id, source.name, dry_run, state, resumed)
    if source.is_stdin:
        progress.note("benben: reading standard input: an interrupted import cannot be resumed")
    if resumed:
        progress.note(f"benben: resuming the import of {source.name} after line {resumed} "
                      f"(recorded in {state_file})")  # fmt: skip
    checker = LineChecker(collection.get("schema"), client.settings)
    lines = read_lines(source, checker, collection.get("schema"), skip_through=state.line)
    label = f"{'checking' if dry_run else 'importing'} {collection_id}"
    with _report_file(report_path, state, resumed is not None) as report:
        run = _Import(client, collection_id, result, report, state_file)
        with progress.task(label, total=source.total_lines, unit="lines") as task:
            if state.line:
                task.update(state.line)
            try:
                run.run(lines, task)
            except TransferError as exc:
                if state_file is not None and state.line:
                    raise TransferError(
                        f"{exc} (lines up to {state.line} are settled, recorded in "
                        f"{state_file}: run the same command again to continue)",
                        exc.exit_code,
                    ) from None
                raise
    if state_file is not None:
        remove_state(state_file)
    return result


def _start(
    source: Source, collection_id: str, state_path: str | None, dry_run: bool
) -> tuple[ImportState, Path | None, int | None]:
    """The state to start from, the state file (None: no resuming), the line resumed after."""
    fresh = ImportState(digest=source.digest or "", collection=collection_id)
    if source.is_stdin or dry_run:
        return fresh, None, None
    path = Path(state_path) if state_path else default_state_path(source.path)
    state = load_state(path)
    if state is None:
        return fresh, path, None
    if state.digest != source.digest:
        raise TransferError(
            f"{source.path} changed since the interrupted import recorded in {path}: "
            "remove that file to import it from the start",
            2,
        )
    if state.collection != collection_id:
        raise TransferError(
            f"{path} records an import of {source.path} into {state.collection!r}, not "
            f"{collection_id!r}: finish that one, or remove the file",
            2,
        )
    return state, path, state.line
