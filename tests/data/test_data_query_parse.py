"""parse_list_query: what the query string means, and a 400 naming the parameter for every
mistake.  No database: these are unit tests."""

from __future__ import annotations

from decimal import Decimal

import pytest
from data_query_support import SECRET, params, parse

from benben.data.query import (
    Field,
    SortKey,
    parse_field_path,
    parse_list_query,
    project,
)
from benben.errors import VALIDATION_TYPE, ProblemError


def errors_of(query, **kwargs):
    with pytest.raises(ProblemError) as raised:
        parse(query, **kwargs)
    problem = raised.value.problem
    assert raised.value.code == 400
    assert problem["type"] == VALIDATION_TYPE
    assert problem["title"] == "Invalid request"
    for error in problem["errors"]:
        assert error["location"] == "querystring"
        assert error["name"] in problem["detail"]
    return problem["errors"]


def names_of(query, **kwargs):
    return [error["name"] for error in errors_of(query, **kwargs)]


def only_filter(query):
    (flt,) = parse(query).filters
    return flt


@pytest.mark.parametrize(
    ("query", "field", "op", "value"),
    [
        ("price=10", ("price",), "eq", 10),
        ("price__gt=10.5", ("price",), "gt", Decimal("10.5")),
        ('name="10"', ("name",), "eq", "10"),
        ("name=hello world", ("name",), "eq", "hello world"),
        ("name=NaN", ("name",), "eq", "NaN"),
        ("name=Infinity", ("name",), "eq", "Infinity"),
        ("active=true", ("active",), "eq", True),
        ("active__ne=null", ("active",), "ne", None),
        ("a.b-c.d_e=1", ("a", "b-c", "d_e"), "eq", 1),
        ("nested._private=1", ("nested", "_private"), "eq", 1),
        ("tags__in=a,2,true", ("tags",), "in", ("a", 2, True)),
        ('tags__nin=["a,b", 2.5, null]', ("tags",), "nin", ("a,b", Decimal("2.5"), None)),
        ("tags__in=[]", ("tags",), "in", ()),
        ("tags__in=", ("tags",), "in", ("",)),
        ("tags__contains=red", ("tags",), "contains", "red"),
        ("code__startswith=12", ("code",), "startswith", "12"),
        ('code__startswith="12"', ("code",), "startswith", "12"),
        ("code__startswith=[1]", ("code",), "startswith", "[1]"),
        ("x__exists=false", ("x",), "exists", False),
        ("n__le=-1e3", ("n",), "le", Decimal("-1E+3")),
        ("n__lt=9223372036854775807", ("n",), "lt", 2**63 - 1),
        (
            "n__lt=123456789012345678901234567890.0",
            ("n",),
            "lt",
            Decimal("123456789012345678901234567890.0"),
        ),
    ],
)
def test_filter_values_are_json_when_they_parse_else_text(query, field, op, value):
    flt = only_filter(query)
    assert (flt.field.path, flt.op, flt.value) == (field, op, value)
    assert flt.param == query.split("=", 1)[0]
    assert type(flt.value) is type(value)


def test_id_and_last_modified_mean_the_metadata():
    flt = only_filter("id=123")
    assert (flt.field, flt.value) == (Field(meta="id"), "123")
    assert only_filter('id__in=a,"b",3').value == ("a", "b", "3")
    assert only_filter("last_modified__gt=1700000000000").value == 1700000000000
    assert only_filter("meta.id=1").field == Field(path=("meta", "id"))


def test_a_repeated_filter_is_two_conditions():
    query = parse([("price__gt", "1"), ("price__gt", "5"), ("tags__contains", "a")])
    assert [(f.op, f.value) for f in query.filters] == [("gt", 1), ("gt", 5), ("contains", "a")]


def test_defaults():
    query = parse("")
    assert query.filters == ()
    assert query.sort == (SortKey(Field(meta="last_modified"), descending=True),)
    assert (query.fields, query.limit, query.count, query.since, query.before) == (
        None,
        100,
        False,
        None,
        None,
    )
    assert query.after is None
    assert not query.tombstones


def test_reserved_parameters():
    query = parse(
        '_sort=-price,name,id&_fields=title,a.b,id&_limit=7&_count=true&_since=5&_before="9"'
    )
    assert query.sort == (
        SortKey(Field(path=("price",)), True),
        SortKey(Field(path=("name",))),
        SortKey(Field(meta="id")),
    )
    assert query.fields == ("title", "a.b", "id")
    assert (query.limit, query.count, query.since, query.before) == (7, True, 5, 9)
    assert query.tombstones
    assert parse("_limit=1000").limit == 1000
    assert parse("_count=false").count is False


def test_the_order_ends_with_last_modified_and_id_so_that_it_is_total():
    def parts(query):
        return [part for _, part, _ in parse(query).sort_keys()]

    assert parts("") == ["last_modified", "id"]
    assert parts("_sort=id") == ["id"]
    keys = parse("_sort=-price").sort_keys()
    assert [(str(f), part, desc) for f, part, desc in keys] == [
        ("price", "rank", True),
        ("price", "num", True),
        ("price", "text", True),
        ("last_modified", "last_modified", True),
        ("id", "id", True),
    ]
    assert parts("_sort=a,-b")[-2:] == ["last_modified", "id"]
    assert [desc for _, _, desc in parse("_sort=-a,b").sort_keys()][-2:] == [False, False]
    # Leading parts that a filter holds constant are left out of the order.
    assert parts("price__gt=1&_sort=price") == ["num", "text", "last_modified", "id"]
    assert parts("name__startswith=a&_sort=name") == ["text", "last_modified", "id"]
    assert parts("name=a&_sort=name") == ["last_modified", "id"]
    assert parts("x__exists=false&_sort=x") == ["last_modified", "id"]
    assert parts("x__ne=1&_sort=x")[0] == "rank"
    # ...unless tombstones (which no data filter applies to) are part of the answer.
    assert parts("name=a&_sort=name&_since=1")[0] == "rank"


@pytest.mark.parametrize(
    ("query", "name", "message"),
    [
        ("price__foo=1", "price__foo", 'unknown operator "foo"'),
        ("price__gt__lt=1", "price__gt__lt", "unknown operator"),
        ("__gt=1", "__gt", "unknown parameter"),
        ("a.__gt=1", "a.__gt", "invalid field segment"),
        ("a..b=1", "a..b", "invalid field segment"),
        ("a.=1", "a.", "invalid field segment"),
        ("a_=1", "a_", "invalid field segment"),
        ("a b=1", "a b", "invalid field segment"),
        ("a'b=1", "a'b", "invalid field segment"),
        ("é=1", "é", "invalid field segment"),
        ("a.b.c.d.e.f.g.h.i=1", "a.b.c.d.e.f.g.h.i", "1 to 8 segments"),
        ("x" * 65 + "=1", "x" * 65, "at most 64 characters"),
        ("_private=1", "_private", "unknown parameter"),
        ("price__gt=true", "price__gt", "compares numbers or strings"),
        ("price__lt=null", "price__lt", "compares numbers or strings"),
        ("price=[1]", "price", "not a JSON array"),
        ('price__ne={"a":1}', "price__ne", "not a JSON object"),
        ("price__contains=[1]", "price__contains", "not a JSON array"),
        ("price__in=[1", "price__in", "not a JSON array"),
        ("price__in=[[1]]", "price__in", "not a JSON array"),
        ("price__in=" + ",".join("1" * 101), "price__in", "at most 100 values"),
        ("price__gt=1e999", "price__gt", "finite"),
        ("price__gt=" + "9" * 400, "price__gt", "finite"),
        # No record holds an integer beyond int64 (issue #13): write it with an exponent.
        ("price__gt=123456789012345678901234567890", "price__gt", "at most 2^63-1"),
        ("price__in=1,-9223372036854775808", "price__in", "at most 2^63-1"),
        ('price__in=["a\\u0000"]', "price__in", "NUL character"),
        ("price__exists=yes", "price__exists", "true or false"),
        ("id__exists=true", "id__exists", "does not apply to id"),
        ("id__in=[1]", "id__in", "id takes strings"),
        ("last_modified=abc", "last_modified", "integers"),
        ("last_modified__gt=1.5", "last_modified__gt", "integers"),
        ("last_modified__in=1,x", "last_modified__in", "integers"),
        ("last_modified__contains=1", "last_modified__contains", "does not apply"),
        ("last_modified__startswith=1", "last_modified__startswith", "does not apply"),
        ("name=" + "x" * 4097, "name", "at most 4096 characters"),
        ("_sort=", "_sort", "is empty; give fields separated by commas"),
        ("_sort=-", "_sort", 'key 1 ("-") is a lone "-"'),
        ("_sort=price,", "_sort", "key 2 is empty"),
        ("_sort=a,,b", "_sort", "key 2 is empty (two commas in a row"),
        ("_sort=--price", "_sort", 'key 1 ("--price"): one "-" before a field means descending'),
        ("_sort=+price", "_sort", 'key 1 ("+price"): one "-" before a field'),
        ("_sort=price,-price", "_sort", 'key 2 ("-price"): price is already a sort key'),
        ("_sort=id,id", "_sort", "id is already a sort key"),
        ("_sort=a,b,c,d,e,f", "_sort", "at most 5"),
        ("_sort=a..b", "_sort", "invalid field segment"),
        ("_fields=a,,b", "_fields", "dotted path"),
        ("_fields=" + ",".join(f"f{i}" for i in range(51)), "_fields", "at most 50"),
        ("_limit=0", "_limit", "from 1 to 1000"),
        ("_limit=1001", "_limit", "from 1 to 1000"),
        ("_limit=-1", "_limit", "from 1 to 1000"),
        ("_limit=ten", "_limit", "from 1 to 1000"),
        ("_limit=1e2", "_limit", "from 1 to 1000"),
        ("_count=yes", "_count", "true or false"),
        ("_since=yesterday", "_since", "integer"),
        ("_before=-5", "_before", "integer"),
        ("_since=" + "9" * 30, "_since", "integer"),
        ("_cursor=abc", "_cursor", "is not a cursor this API returned"),
        ("_cursor=" + "a" * 3000, "_cursor", "is not a cursor this API returned"),
        ("_page=2", "_page", "unknown parameter"),
    ],
)
def test_every_mistake_is_a_400_naming_the_parameter(query, name, message):
    (error,) = errors_of(query)
    assert error["name"] == name
    assert message in error["message"]


def test_a_reserved_parameter_given_twice_is_refused():
    (error,) = errors_of([("_limit", "5"), ("_limit", "6")])
    assert (error["name"], error["message"]) == ("_limit", "must be given at most once")


def test_too_many_filters():
    query = [(f"f{i}", "1") for i in range(21)]
    assert names_of(query) == ["f20"]
    assert len(parse(query[:20]).filters) == 20


def test_every_mistake_is_reported_at_once():
    assert names_of("a..b=1&price__foo=2&_limit=0&_sort=x..y&ok=1") == [
        "a..b",
        "price__foo",
        "_sort",
        "_limit",
    ]


def test_parameters_handled_elsewhere_can_be_ignored():
    with pytest.raises(ProblemError):
        parse("_dry_run=true")
    query = parse_list_query(
        params("_dry_run=true&a=1"),
        default_limit=10,
        max_limit=20,
        secret=SECRET,
        collection_id="c",
        ignore=["_dry_run"],
    )
    assert len(query.filters) == 1
    assert query.limit == 10


def test_limits_come_from_the_caller():
    assert (
        parse_list_query({}, default_limit=5, max_limit=9, secret=SECRET, collection_id="c").limit
        == 5
    )
    with pytest.raises(ProblemError):
        parse_list_query(
            {"_limit": "10"}, default_limit=5, max_limit=9, secret=SECRET, collection_id="c"
        )


def test_parse_field_path():
    assert parse_field_path("a.b") == ("a", "b")
    for bad in ("", "a__b", "_a", "a.b.", "a/b", "a.b.c.d.e.f.g.h.i"):
        with pytest.raises(ValueError, match=r"segment|reserved|path"):
            parse_field_path(bad)


def test_project_keeps_nested_structure():
    data = {"title": "t", "price": 3, "a": {"b": 1, "c": {"d": 2, "e": 3}}, "x": [1], "y": None}
    assert project(data, None) is data
    assert project(None, ("title",)) is None
    assert project(data, ("title", "missing", "a.c.d", "x.0")) == {
        "title": "t",
        "a": {"c": {"d": 2}},
    }
    assert project(data, ("a.c.d", "a", "y")) == {"a": data["a"], "y": None}
    assert project(data, ("id", "last_modified")) == {}
    assert project(data, ("title.sub", "a.b.c")) == {}
    projected = project(data, ("a.c.e",))
    projected["a"]["c"]["e"] = 99
    assert data["a"]["c"]["e"] == 3
