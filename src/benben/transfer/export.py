"""``benben export``: one collection's records, as the caller may read them, to JSON Lines or CSV.

Pages of ``GET /api/v1/collections/{cid}/records`` are read one after another, following each
page's ``next`` link (keyset cursors), with the API's own query language passed through; one
page is held at a time, whatever the collection's size.  The default order is ``id``: a record
changed during the export keeps its place (under ``-last_modified`` it would move).

CSV columns (see :mod:`.csv_values`): ``id``, ``last_modified``, then ``--fields`` when given;
else the schema's declared fields when its root accepts no others; else a first pass over the
records collects their fields (declared ones first, in the schema's order, then the others in
the order first met), and a second pass writes the rows.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import urlencode, urlsplit

from benben.transfer.client import (
    Client,
    TransferError,
    collection_path,
    fetch_collection,
    problem_message,
)
from benben.transfer.csv_values import (
    META_COLUMNS,
    cell,
    declared_columns,
    is_closed,
    leaf_paths,
    value_at,
)

__all__ = ["ExportResult", "export_records", "query_parameters"]

MAX_PAGE = 1000
MAX_COLUMNS = 1000  # a collection whose records are maps keyed by ids is no table


@dataclass
class ExportResult:
    collection: str
    records: int
    columns: list[str] | None  # CSV's


def query_parameters(
    filters: Sequence[str] = (),
    sort: str | None = None,
    fields: str | None = None,
    query: str | None = None,
) -> list[tuple[str, str]]:
    """The list query from the command's options: ``--filter name=value`` (repeated),
    ``--sort``, ``--fields``, and a raw ``--query`` string added as it is."""
    from urllib.parse import parse_qsl

    params: list[tuple[str, str]] = []
    for item in filters:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise TransferError(f"--filter {item!r}: expected NAME=VALUE (e.g. status=open)", 2)
        params.append((name, value))
    if sort:
        params.append(("_sort", sort))
    if fields:
        params.append(("_fields", fields))
    if query:
        try:
            params += parse_qsl(query.lstrip("?"), keep_blank_values=True, strict_parsing=True)
        except ValueError:
            raise TransferError(f"--query {query!r} is not a query string (a=1&b=2)", 2) from None
    return params


def records(client: Client, collection_id: str, params: Sequence[tuple[str, str]]) -> Iterator[Any]:
    """Every record the query matches, page after page."""
    names = {name for name, _ in params}
    first = list(params)
    if "_sort" not in names:
        first.append(("_sort", "id"))
    if "_limit" not in names:
        limit = min(MAX_PAGE, int(client.settings["benben.data.max_page_size"]))
        first.append(("_limit", str(limit)))
    path: str | None = f"{collection_path(collection_id)}/records?{urlencode(first)}"
    while path is not None:
        answer = client.call("GET", path)
        if answer.status == 400:
            raise TransferError(f"the query was refused: {problem_message(answer)}", 2)
        if not answer.ok or not isinstance(answer.body, dict):
            raise TransferError(f"reading {collection_id}: {problem_message(answer)}")
        yield from answer.body["data"]
        following = answer.body.get("next")
        path = None
        if following:
            parts = urlsplit(following)
            path = f"{parts.path}?{parts.query}"


def export_records(
    client: Client,
    collection_id: str,
    output: TextIO,
    *,
    format: str = "jsonl",
    params: Sequence[tuple[str, str]] = (),
    progress: Any = None,
) -> ExportResult:
    """Write the records to ``output``; see the module docstring."""
    from benben.backup.progress import make_progress

    progress = progress if progress is not None else make_progress(enabled=False)
    collection = fetch_collection(client, collection_id)
    label = f"exporting {collection_id}"
    if format == "csv":
        columns = _columns(client, collection, params, progress)
        writer = csv.writer(output, lineterminator="\n")
        writer.writerow([*META_COLUMNS, *columns])
        prefixes = {
            ".".join(column.split(".")[:end])
            for column in columns
            for end in range(1, column.count(".") + 1)
        }
        count = 0
        with progress.task(label, unit="records") as task:
            for record in records(client, collection_id, params):
                writer.writerow(_row(record, columns, prefixes))
                count += 1
                task.update()
        return ExportResult(collection_id, count, columns)
    count = 0
    with progress.task(label, unit="records") as task:
        for record in records(client, collection_id, params):
            output.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
            task.update()
    return ExportResult(collection_id, count, None)


def _columns(
    client: Client, collection: dict[str, Any], params: Sequence[tuple[str, str]], progress: Any
) -> list[str]:
    schema = collection.get("schema")
    fields = [value for name, value in params if name == "_fields"]
    if fields:
        return [field for field in fields[-1].split(",") if field and field not in META_COLUMNS]
    declared = declared_columns(schema)
    if declared and is_closed(schema):
        return declared
    found: dict[str, None] = dict.fromkeys(declared)
    under = tuple(f"{column}." for column in declared)
    with progress.task(f"finding the fields of {collection['id']}", unit="records") as task:
        for record in records(client, collection["id"], params):
            for path in leaf_paths(record.get("data") or {}):
                if path not in found and not path.startswith(under):
                    found[path] = None
                    if len(found) > MAX_COLUMNS:
                        raise TransferError(
                            f"the records of {collection['id']} have more than {MAX_COLUMNS} "
                            "fields: choose columns with --fields, or export JSON Lines"
                        )
            task.update()
    return list(found)


def _row(record: dict[str, Any], columns: list[str], prefixes: set[str]) -> list[str]:
    data = record.get("data") or {}
    row = [str(record.get("id", "")), str(record.get("last_modified", ""))]
    for column in columns:
        found, value = value_at(data, column)
        if not found or (isinstance(value, dict) and value and column in prefixes):
            row.append("")  # absent, or an object its sub-columns hold
        else:
            row.append(cell(value))
    return row
