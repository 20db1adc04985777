"""`benben export`: pages of records to JSON Lines or CSV, and back through `benben import`."""

from __future__ import annotations

import csv
import io
import json

import pytest
from transfer_support import World, write_ini

DATA = {
    "a": {"title": "Emma", "price": 4.5, "count": 3, "open": True, "note": None,
          "tags": ["x", 1], "author": {"name": "Austen"}},
    "b": {"title": "Dune, again", "price": 10, "open": False, "note": "say \"hi\"\nthere"},
    "c": {"title": "Ulysses", "author": {"name": "Joyce"}},
}  # fmt: skip


@pytest.fixture
def world(app):
    world = World(app)
    world.collection("books")
    for rid, data in DATA.items():
        world.put("books", rid, data)
    return world


@pytest.fixture
def ini(app_settings, tmp_path):
    return write_ini(tmp_path, app_settings)


def test_jsonl_round_trip_into_another_collection(cli, world, ini, tmp_path):
    out = tmp_path / "books.jsonl"
    result = cli("export", "--ini", ini, "books", "-o", str(out), "-q")
    assert result.code == 0, result.err
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["a", "b", "c"]  # by id
    assert {"id", "data", "last_modified", "created_by", "permissions"} <= set(lines[0])
    world.collection("copy")
    assert cli("import", "--ini", ini, "copy", str(out), "-q").code == 0
    assert world.records("copy") == DATA


def test_csv_round_trip_of_the_declared_types(cli, world, ini, tmp_path):
    out = tmp_path / "books.csv"
    assert cli("export", "--ini", ini, "books", "-o", str(out), "-q").code == 0
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert rows[0] == ["id", "last_modified", "title", "price", "count", "open", "note", "tags",
                       "author.name"]  # fmt: skip
    assert rows[1][2:] == ["Emma", "4.5", "3", "true", "null", '["x",1]', "Austen"]
    world.collection("copy")
    result = cli("import", "--ini", ini, "copy", str(out), "-q")
    assert result.code == 0, result.err
    assert world.records("copy") == DATA


def test_csv_columns_of_an_open_schema_include_the_undeclared_fields(cli, world, ini, tmp_path):
    world.collection("loose", schema=None)
    world.put("loose", "x", {"b": 1, "n": {"deep": {"er": True}}})
    world.put("loose", "y", {"a": "z", "n": 2})
    result = cli("export", "--ini", ini, "loose", "--format", "csv", "-q")
    assert result.code == 0, result.err
    rows = list(csv.reader(io.StringIO(result.out)))
    assert rows[0][2:] == ["b", "n.deep.er", "a", "n"]
    assert rows[1][2:] == ["1", "true", "", ""]
    assert rows[2][2:] == ["", "", "z", "2"]


def test_a_closed_schema_gives_its_columns_and_fields_choose_them(cli, world, ini):
    closed = {"type": "object", "properties": {"t": {"type": "string"}, "p": {"type": "number"}},
              "additionalProperties": False}  # fmt: skip
    world.collection("closed", schema=closed)
    world.put("closed", "x", {"p": 2})
    result = cli("export", "--ini", ini, "closed", "--format", "csv", "-q")
    assert result.out.splitlines()[0] == "id,last_modified,t,p"
    chosen = cli(
        "export", "--ini", ini, "books", "--format", "csv", "--fields", "author.name", "-q"
    )
    assert [row[2:] for row in csv.reader(io.StringIO(chosen.out))] == [
        ["author.name"], ["Austen"], [""], ["Joyce"]
    ]  # fmt: skip


def test_filters_sort_and_a_raw_query_pass_through(cli, world, ini):
    result = cli("export", "--ini", ini, "books", "--filter", "price__gt=5", "-q")
    assert [json.loads(line)["id"] for line in result.out.splitlines()] == ["b"]
    result = cli("export", "--ini", ini, "books", "--query", "author.name__exists=true&_sort=-id")
    assert [json.loads(line)["id"] for line in result.out.splitlines()] == ["c", "a"]
    assert "exported 2 records of books to stdout" in result.err


def test_pages_are_followed(cli, world, ini):
    result = cli("export", "--ini", ini, "books", "--query", "_limit=1", "-q")
    assert [json.loads(line)["id"] for line in result.out.splitlines()] == ["a", "b", "c"]


def test_a_reader_exports_only_what_they_may_read(cli, world, ini):
    reader_id, _ = world.user("reader")
    world.collection("books", permissions={"create": [f"user:{reader_id}"]})  # sees it, not all
    world.put("books", "mine", {"title": "Mine"}, permissions={"read": [f"user:{reader_id}"]})
    result = cli("export", "--ini", ini, "books", "--as", "reader", "-q")
    assert result.code == 0, result.err
    assert [json.loads(line)["id"] for line in result.out.splitlines()] == ["mine"]


def test_a_bad_filter_is_a_usage_error_naming_it_and_leaves_no_file(cli, world, ini, tmp_path):
    out = tmp_path / "out.jsonl"
    result = cli("export", "--ini", ini, "books", "--filter", "price__foo=1", "-o", str(out))
    assert result.code == 2
    error = result.err.splitlines()[-1]
    assert error.startswith("benben: error: the query was refused: price__foo: unknown operator")
    assert list(tmp_path.glob("*out*")) == []
    result = cli("export", "--ini", ini, "books", "--filter", "nonsense", "-q")
    assert result.code == 2
    assert "--filter 'nonsense': expected NAME=VALUE" in result.err


def test_a_missing_collection_is_a_one_line_error(cli, world, ini):
    result = cli("export", "--ini", ini, "nothere", "-q")
    assert result.code == 1
    assert result.err.splitlines()[-1] == (
        "benben: error: no collection 'nothere' that admin may see (see GET /api/v1/collections)"
    )
