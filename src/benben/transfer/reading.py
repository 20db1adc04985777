"""An import's input, line by line: JSON Lines or CSV into the bodies the API will be sent, each
checked first by the API's own rules, so that a bad line is refused alone rather than failing
its whole batch.

A JSON line is either a record as ``benben export`` writes it (an object whose members are
among ``id``, ``data``, ``last_modified``, ``created_by``, ``permissions``, with ``data`` an
object) or a bare data object (anything else).  A line without an id gets one derived from the
input's sha256 and the line number (UUID 5), sent with ``If-None-Match: *``: importing the same
file again, or replaying a chunk after an interruption, creates no duplicate.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from benben.transfer.client import TransferError
from benben.transfer.csv_values import check_header, row_record

__all__ = ["FORMATS", "Line", "LineChecker", "Source", "open_source", "read_lines"]

FORMATS = ("jsonl", "csv")
STDIN = "-"
RECORD_MEMBERS = frozenset({"id", "data", "last_modified", "created_by", "permissions", "deleted"})
# The namespace of the ids given to lines without one (UUID 5 of "<sha256>:<line>").
ID_NAMESPACE = uuid.UUID("6d1c4c2e-5b0a-4f53-9a43-2a8f3e7b9c10")
_BLOCK = 1 << 20


@dataclass
class Line:
    """One line (a CSV row: the line it starts on) and what becomes of it."""

    number: int
    record_id: str | None = None
    body: dict[str, Any] | None = None
    conditional: bool = False  # sent with If-None-Match: * (an id of our making)
    size: int = 0  # bytes of the body as JSON
    errors: list[tuple[str, str]] = field(default_factory=list)  # (pointer, message)


@dataclass
class Source:
    """The input: a file (its sha256 and line count known up front) or standard input."""

    path: str
    format: str
    digest: str | None
    total_lines: int | None

    @property
    def is_stdin(self) -> bool:
        return self.path == STDIN

    @property
    def name(self) -> str:
        return "standard input" if self.is_stdin else self.path


def guess_format(path: str) -> str:
    return "csv" if path.lower().endswith((".csv", ".tsv")) else "jsonl"


def open_source(path: str, format: str | None = None) -> Source:
    """Check the input and, for a file, read it once for its digest and line count."""
    chosen = format or guess_format(path)
    if path == STDIN:
        return Source(path, chosen, None, None)
    digest, lines, last = hashlib.sha256(), 0, b"\n"
    try:
        with open(path, "rb") as handle:
            while block := handle.read(_BLOCK):
                digest.update(block)
                lines += block.count(b"\n")
                last = block[-1:]
    except FileNotFoundError:
        raise TransferError(f"no file {path}", 2) from None
    except IsADirectoryError:
        raise TransferError(f"{path} is a directory, not a file to import", 2) from None
    return Source(path, chosen, digest.hexdigest(), lines + (last != b"\n"))


class LineChecker:
    """A record body as the API would check it: the body's schema, JSON hygiene, the size
    limit, the collection's schema (the server checks again: this only sorts lines early)."""

    def __init__(self, schema: Any, settings: Mapping[str, Any]) -> None:
        from benben.data.bodies import RECORD_BODY
        from benben.jsonschemas import body_validator, make_validator

        self._body = body_validator(RECORD_BODY)
        self._data = None
        if schema is not None:
            try:
                self._data = make_validator(schema)
            except Exception:  # the server applies it, and reports what is wrong
                self._data = None
        self._limit = int(settings["benben.data.max_record_size"])

    def errors(self, body: Mapping[str, Any]) -> list[tuple[str, str]]:
        from benben.data.record_schema import data_errors
        from benben.data.validation import hygiene_errors
        from benben.rest import schema_errors

        found = schema_errors(self._body, body) or hygiene_errors(body)
        if not found:
            data = body["data"]
            size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
            if size > self._limit:
                message = f"is {size} bytes of JSON; at most {self._limit} are accepted"
                return [("/data", message)]
            found = data_errors(self._data, data)
        return [(error["pointer"], error["message"]) for error in found]


def read_lines(
    source: Source, checker: LineChecker, schema: Any, *, skip_through: int = 0
) -> Iterator[Line]:
    """The input's lines after ``skip_through``, checked; blank lines are left out."""
    namespace = source.digest or uuid.uuid4().hex  # standard input: ids for this run only
    lines = _csv_lines(source, schema) if source.format == "csv" else _json_lines(source)
    for line in lines:
        if line.number <= skip_through:
            continue
        if not line.errors and line.body is not None:
            if line.record_id is None:
                line.record_id = str(uuid.uuid5(ID_NAMESPACE, f"{namespace}:{line.number}"))
                line.conditional = True
            line.errors = checker.errors(line.body)
            line.size = len(json.dumps(line.body, separators=(",", ":")))  # ASCII: bytes
        yield line


def _binary(source: Source) -> BinaryIO:
    if source.is_stdin:
        return sys.stdin.buffer
    return open(source.path, "rb")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_lines(source: Source) -> Iterator[Line]:
    first = True
    handle = _binary(source)
    with handle if not source.is_stdin else contextlib.nullcontext(handle):
        for number, raw in enumerate(handle, 1):
            raw = raw.strip(b" \t\r\n")
            if not raw:
                continue
            try:
                value = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
            except UnicodeDecodeError:
                yield Line(number, errors=[("", "is not UTF-8 text")])
                first = False
                continue
            except ValueError as exc:
                reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
                where = f" (column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
                if first:  # not one JSON line: the wrong file, or the wrong format
                    raise TransferError(
                        f"{source.name} line {number} is not JSON ({reason}{where}): is it JSON "
                        "Lines? (give --format csv for CSV)",
                        2,
                    ) from None
                yield Line(number, errors=[("", f"is not JSON: {reason}{where}")])
                continue
            first = False
            yield _json_line(number, value)


def _json_line(number: int, value: Any) -> Line:
    if not isinstance(value, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean"}.get(type(value), "a number")
        kind = "null" if value is None else kind
        message = f'must be a JSON object (a record {{"id", "data"}} or its data), not {kind}'
        return Line(number, errors=[("", message)])
    is_record = isinstance(value.get("data"), dict) and set(value) <= RECORD_MEMBERS
    if not is_record:
        return Line(number, body={"data": value})
    if value.get("deleted"):
        return Line(number, errors=[("/deleted", "a deleted record's tombstone: not imported")])
    record_id = value.get("id")
    if record_id is not None and not _valid_id(record_id):
        message = (
            "must be a record id: 1-64 letters, digits, _ and -, starting with a letter or digit"
        )
        return Line(number, errors=[("/id", message)])
    body: dict[str, Any] = {"data": value["data"]}
    if value.get("permissions"):  # an empty one is every new record's: left to the server
        body["permissions"] = value["permissions"]
    return Line(number, record_id=record_id, body=body)


def _valid_id(record_id: Any) -> bool:
    from benben.data.validation import record_id_valid

    return isinstance(record_id, str) and record_id_valid(record_id)


def _csv_lines(source: Source, schema: Any) -> Iterator[Line]:
    handle = io.TextIOWrapper(_binary(source), encoding="utf-8-sig", newline="")
    try:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if not header:
                raise TransferError(f"{source.name} has no CSV header row", 2)
            problems = check_header(header)
            if problems:
                raise TransferError(f"{source.name}: bad CSV header: {'; '.join(problems)}", 2)
            start = reader.line_num + 1
            for row in reader:
                number, start = start, reader.line_num + 1
                if not row or row == [""]:
                    continue
                record_id, data, errors = row_record(header, row, schema)
                if record_id is not None and not _valid_id(record_id):
                    errors.append(("/id", "column id: must be a record id: 1-64 letters, "
                                   "digits, _ and -, starting with a letter or digit"))  # fmt: skip
                if errors:
                    yield Line(number, errors=errors)
                else:
                    yield Line(number, record_id=record_id, body={"data": data})
        except UnicodeDecodeError:
            raise TransferError(
                f"{source.name} is not UTF-8 text (near line {reader.line_num + 1})", 2
            ) from None
        except csv.Error as exc:
            raise TransferError(f"{source.name} line {reader.line_num}: {exc}", 2) from None
    finally:
        if source.is_stdin:
            handle.detach()
        else:
            handle.close()
