"""benben.rest: enforced body schemas, strict JSON, one problem per violation."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from benben.errors import VALIDATION_TYPE
from benben.rest import Service, loads_strict, schema_errors

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
        (b'{"title": "t", "size": 1e400}', "a number beyond the range of a double"),
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
