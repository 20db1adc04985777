"""CSV cells and columns: what export writes and import reads back, by the schema's types."""

from __future__ import annotations

import pytest

from benben.transfer.csv_values import (
    CellError,
    cell,
    check_header,
    column_types,
    convert,
    declared_columns,
    leaf_paths,
    row_record,
)

SCHEMA = {
    "type": "object",
    "properties": {
        "n": {"type": "integer"},
        "x": {"type": ["number", "null"]},
        "a": {"type": "object", "properties": {"b": {"type": "boolean"}, "c": {}}},
        "free": {"type": "object"},
    },
}


def test_declared_columns_walk_objects_with_properties_only():
    assert declared_columns(SCHEMA) == ["n", "x", "a.b", "a.c", "free"]
    assert declared_columns(None) == []


def test_leaf_paths_walk_non_empty_objects():
    data = {"a": {"b": 1, "c": {}}, "d": [1, {"e": 2}]}
    assert list(leaf_paths(data)) == ["a.b", "a.c", "d"]


@pytest.mark.parametrize(
    ("value", "text"),
    [("é", "é"), (None, "null"), (True, "true"), (3, "3"), (2.5, "2.5"), ([1, "é"], '[1,"é"]')],
)
def test_cells(value, text):
    assert cell(value) == text


def test_column_types_follow_dotted_paths():
    assert column_types(SCHEMA, "x") == ("number", "null")
    assert column_types(SCHEMA, "a.b") == ("boolean",)
    assert column_types(SCHEMA, "a.c") == ()
    assert column_types(SCHEMA, "nothere.deep") == ()


@pytest.mark.parametrize(
    ("text", "types", "value"),
    [
        ("12", ("integer",), 12),
        ("-1.5e2", ("number",), -150.0),
        ("null", ("number", "null"), None),
        ("TRUE", ("boolean",), True),
        ('{"k": 1}', ("object",), {"k": 1}),
        ("007", (), "007"),  # undeclared: text, leading zeros kept
        ("12", ("string",), "12"),
    ],
)
def test_convert_reads_the_declared_type(text, types, value):
    assert convert(text, types, "col") == value


@pytest.mark.parametrize(
    ("text", "types"), [("1.5", ("integer",)), ("nan", ("number",)), ("[1]", ("object",))]
)
def test_convert_refuses_naming_the_column(text, types):
    with pytest.raises(CellError) as refusal:
        convert(text, types, "col")
    assert str(refusal.value).startswith(f'column col: "{text}" is not ')


def test_rows_become_nested_data_and_bad_cells_point_at_their_member():
    header = ["id", "last_modified", "n", "a.b", "x"]
    assert row_record(header, ["r1", "123", "4", "false", ""], SCHEMA) == (
        "r1",
        {"n": 4, "a": {"b": False}},
        [],
    )
    _, _, errors = row_record(header, ["", "", "four", "", "x"], SCHEMA)
    assert errors == [
        ("/data/n", 'column n: "four" is not an integer'),
        ("/data/x", 'column x: "x" is not a number or null'),
    ]
    _, _, errors = row_record(["a"], ["1", "2"], SCHEMA)
    assert errors == [("", "has 2 cells; the header has 1")]


def test_headers_are_checked():
    assert check_header(["id", "a", "a", "", "b..c"]) == [
        "column 'a' appears twice",
        "column 4 has no name",
        "column 'b..c' has an empty segment",
    ]
