"""benben.rest: enforced body schemas, strict JSON, one problem per violation."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from benben.errors import VALIDATION_TYPE
from benben.rest import MAX_JSON_DEPTH, BadJSONValue, Service, loads_strict, schema_errors

THING = {
    "type": "object",
    "required": ["title"],
    "properties": {"title": {"type": "string"}, "size": {"type": "number"}},
    "additionalProperties": False,
}


def test_a_member_required_twice_is_reported_once():
    schema = {"allOf": [{"required": ["title"]}, {"required": ["title", "size"]}]}
    errors = schema_errors(Draft202012Validator(schema), {})
    assert errors == [
        {"location": "body", "pointer": "/title", "message": "is required"},
        {"location": "body", "pointer": "/size", "message": "is required"},
    ]


def test_unknown_members_point_at_themselves_under_a_prefix():
    errors = schema_errors(
        Draft202012Validator(THING), {"title": "t", "colour": 1}, prefix=["data"]
    )
    assert errors == [
        {
            "location": "body",
            "pointer": "/data/colour",
            "message": "unknown field; accepted: size, title",
        }
    ]


@pytest.mark.parametrize("text", ["NaN", '{"a": Infinity}', "[-Infinity]", "1e999", "[" * 100_000])
def test_loads_strict_refuses_what_other_parsers_read_differently(text):
    with pytest.raises(ValueError, match=r"not JSON|double|deeply"):
        loads_strict(text)


def test_loads_strict_reads_standard_json():
    assert loads_strict('{"a": [1, 2.5, null, true]}') == {"a": [1, 2.5, None, True]}


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("text", "pointer", "message"),
    [
        ('{"a": [1, 1e400]}', "/a/1", "beyond a double's range"),
        ('{"a": -1e400}', "/a", "beyond a double's range"),
        ('{"a": [0, %s]}' % ("9" * 400), "/a/1", "beyond a double's range"),
        ('{"a": %s}' % ("1" * 5000), "/a", "beyond a double's range"),  # not Python's own limit
        ('{"a": {"b": "x\\u0000y"}}', "/a/b", "NUL character"),
        ('["ok", "\\ud800"]', "/1", "lone surrogate"),
        ('{"a": {"k\\u0000": 1}}', "/a/k\x00", "member name"),
        (_nested(MAX_JSON_DEPTH + 1), "/0" * MAX_JSON_DEPTH, f"deeper than {MAX_JSON_DEPTH}"),
        ('{"v": ' + _nested(500) + "}", "/v" + "/0" * (MAX_JSON_DEPTH - 1), "deeper"),
    ],
)
def test_loads_strict_points_at_what_it_refuses(text, pointer, message):
    with pytest.raises(BadJSONValue) as caught:
        loads_strict(text)
    assert caught.value.pointer == pointer
    assert message in caught.value.message


def test_loads_strict_takes_what_it_can_store():
    big = 2**63 - 1
    text = f'{{"a": [{big}, -{big}, 1e308, -0.0, "\\u00e9 \\ud83d\\ude00", "\\\\u0000"]}}'
    assert loads_strict(text) == {"a": [big, -big, 1e308, -0.0, "é 😀", "\\u0000"]}
    assert loads_strict(_nested(MAX_JSON_DEPTH)) is not None  # the limit itself is allowed
    assert loads_strict("[" + "[1, 2], " * 500 + "3]")[-1] == 3  # many, not deep
    assert loads_strict('{"a": "' + "[" * 500 + '"}') == {"a": "[" * 500}  # text, not depth
    assert loads_strict('"' + "{" * 500 + '"') == "{" * 500


def include_things(config):
    things = Service("test.rest.things", "/test/rest/things")

    @things.post(body_schema=THING, summary="Create a thing")
    def create(request):
        return {"title": request.validated["title"]}

    config.add_cornice_service(things)


@pytest.fixture
def things_app(make_app):
    return make_app(include=include_things)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"title": "t", "size": NaN}', "NaN is not JSON"),
        (b"[" * 50_000, "nested too deeply"),
        (b'{"title": "\xff"}', "not UTF-8"),
    ],
)
def test_bodies_that_are_not_standard_json_get_a_400(things_app, body, reason):
    response = things_app.post(
        "/test/rest/things", body, content_type="application/json", status=400
    )
    assert response.content_type == "application/problem+json"
    assert response.json["type"] == VALIDATION_TYPE
    assert response.json["errors"] == [
        {"location": "body", "pointer": "", "message": f"not valid JSON ({reason})"}
    ]


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        (b'{"title": "t", "size": 1e400}', "/size"),
        (b'{"title": "t", "size": %s}' % (b"1" * 400), "/size"),
        (b'{"title": "a\\u0000b"}', "/title"),
        (b'{"title": "\\udc00"}', "/title"),
        (
            b'{"title": "t", "size": %s}' % _nested(500).encode(),
            "/size" + "/0" * (MAX_JSON_DEPTH - 1),
        ),
    ],
)
def test_parsed_bodies_that_cannot_be_stored_point_at_the_member(things_app, body, pointer):
    """Every JSON body of the API, before its schema and before its view."""
    response = things_app.post(
        "/test/rest/things", body, content_type="application/json", status=400
    )
    assert response.content_type == "application/problem+json"
    assert response.json["type"] == VALIDATION_TYPE
    [error] = response.json["errors"]
    assert (error["location"], error["pointer"]) == ("body", pointer)


def test_a_valid_body_reaches_the_view_validated(things_app):
    assert things_app.post_json("/test/rest/things", {"title": "t"}).json == {"title": "t"}
    response = things_app.post_json("/test/rest/things", {"size": "big"}, status=400)
    assert [e["pointer"] for e in response.json["errors"]] == ["/title", "/size"]


def test_the_schema_is_what_the_operation_documents():
    things = Service("test.rest.doc", "/test/rest/doc")
    things.post(body_schema=THING, summary="Create")(lambda request: {})
    assert things.operations["POST"].body_schema == THING
    with pytest.raises(Exception, match="is not valid"):
        Service("bad", "/bad").post(body_schema={"type": 3})(lambda request: {})
