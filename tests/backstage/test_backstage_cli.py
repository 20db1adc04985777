"""``benben backstage register|unregister|entities`` against a scripted Backstage, on both
backends (the commands configure the app and read the database as the server does)."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from backstage_support import TOKEN, Call, FakeBackstage, backstage_error

PUBLIC = "http://127.0.0.1:6543"
TARGET = f"{PUBLIC}/backstage/catalog-info.yaml"
NAME = "benben-127-0-0-1-6543"
BY_ENTITY = f"/api/catalog/locations/by-entity/component/default/{NAME}"


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, fake: FakeBackstage) -> FakeBackstage:
    monkeypatch.setenv("BENBEN_PUBLIC_URL", PUBLIC)
    monkeypatch.setenv("BENBEN_BACKSTAGE_URL", fake.url)
    monkeypatch.setenv("BENBEN_BACKSTAGE_TOKEN", TOKEN)
    return fake


def one_line_error(err: str) -> str:
    assert err.count("\n") == 1, err
    assert err.startswith("benben: error: "), err
    return err.strip()


def test_register_then_register_again(
    benben: Callable[..., Any], configured: FakeBackstage
) -> None:
    configured.answer = lambda call: (201, {"location": {"id": "loc-7", "target": TARGET}})
    for _ in range(2):
        result = benben("backstage", "register")
        assert result.code == 0, result.err
        assert result.out == (
            f"registered {TARGET} in Backstage at {configured.url} (location loc-7); "
            "the catalog reads it on its next refresh\n"
        )
    assert [c.path for c in configured.calls] == ["/api/catalog/locations?onConflict=refresh"] * 2
    assert all(c.body == {"type": "url", "target": TARGET} for c in configured.calls)
    assert configured.calls[0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_dry_run_lists_what_backstage_would_read(
    benben: Callable[..., Any], configured: FakeBackstage
) -> None:
    entities = [
        {"kind": "Component", "metadata": {"name": NAME}},
        {"entity": {"kind": "API", "metadata": {"name": f"{NAME}-api", "namespace": "x"}}},
    ]
    configured.answer = lambda call: (200, {"entities": entities})
    result = benben("backstage", "register", "--dry-run")
    assert result.code == 0, result.err
    assert result.out == (
        f"dry run: Backstage at {configured.url} accepts {TARGET}: "
        f"component:default/{NAME}, api:x/{NAME}-api\n"
    )
    assert configured.calls[0].path.endswith("&dryRun=true")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            backstage_error(401, "AuthenticationError", "Invalid token"),
            "refused the credentials (401 Unauthorized: Invalid token)",
        ),
        (
            backstage_error(400, "InputError", "Reading from 'http://127.0.0.1/' is not allowed"),
            f"Backstage refused {TARGET} (400): Reading from 'http://127.0.0.1/' is not allowed",
        ),
    ],
)
def test_refusals_end_the_command_on_one_line(
    benben: Callable[..., Any], configured: FakeBackstage, answer: Any, expected: str
) -> None:
    configured.answer = lambda call: answer
    result = benben("backstage", "register")
    assert result.code == 1
    assert expected in one_line_error(result.err)
    assert TOKEN not in result.err


def test_unreachable_backstage(benben: Callable[..., Any], configured: FakeBackstage) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = benben("backstage", "register", "--url", f"http://127.0.0.1:{port}")
    assert result.code == 1
    assert f"cannot reach Backstage at http://127.0.0.1:{port}: " in one_line_error(result.err)
    assert configured.calls == []


def test_options_override_the_settings(
    benben: Callable[..., Any], fake: FakeBackstage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BENBEN_PUBLIC_URL", PUBLIC)
    monkeypatch.setenv("MY_BACKSTAGE_TOKEN", "from-my-variable")
    result = benben(
        "backstage", "register", "--url", fake.url + "/", "--token-env", "MY_BACKSTAGE_TOKEN"
    )
    assert result.code == 0, result.err
    assert fake.calls[0].headers["Authorization"] == "Bearer from-my-variable"


@pytest.mark.parametrize(
    ("environ", "argv", "message"),
    [
        ({}, ("register",), "benben.public_url (BENBEN_PUBLIC_URL) is not set"),
        ({"BENBEN_PUBLIC_URL": PUBLIC}, ("register",), "no Backstage URL: set benben.backstage"),
        ({"BENBEN_PUBLIC_URL": PUBLIC}, ("unregister", "--url", "ftp://x"), "--url 'ftp://x'"),
        (
            {"BENBEN_PUBLIC_URL": PUBLIC, "BENBEN_BACKSTAGE_URL": "http://127.0.0.1:9"},
            ("register", "--token-env", "NO_SUCH_VARIABLE_HERE"),
            "environment variable NO_SUCH_VARIABLE_HERE is not set",
        ),
        (
            {"BENBEN_PLUGINS_DISABLED": "backstage"},
            ("entities",),
            "the backstage plugin is not enabled",
        ),
        ({"BENBEN_BACKSTAGE_NAME": "bad name!"}, ("entities",), "for setting benben.backstage"),
        ({}, (), "a backstage command is required: register, unregister, entities"),
    ],
)
def test_usage_errors(
    benben: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    environ: dict[str, str],
    argv: tuple[str, ...],
    message: str,
) -> None:
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    result = benben("backstage", *argv)
    assert result.code == 2
    assert message in one_line_error(result.err)


def test_unregister_deletes_this_instance_s_location(
    benben: Callable[..., Any], configured: FakeBackstage
) -> None:
    def answer(call: Call) -> tuple[int, Any]:
        if call.path == BY_ENTITY:
            return 200, {"id": "loc-7", "type": "url", "target": TARGET}
        return 204, None

    configured.answer = answer
    result = benben("backstage", "unregister")
    assert result.code == 0, result.err
    assert "unregistered" in result.out
    assert "(location loc-7)" in result.out
    assert [(c.method, c.path) for c in configured.calls] == [
        ("GET", BY_ENTITY),
        ("DELETE", "/api/catalog/locations/loc-7"),
    ]


def test_unregister_finds_a_location_whose_entities_never_appeared(
    benben: Callable[..., Any], configured: FakeBackstage
) -> None:
    def answer(call: Call) -> tuple[int, Any]:
        if call.path == BY_ENTITY:
            return backstage_error(404, "NotFoundError", "not found")
        if call.path == "/api/catalog/locations":
            return 200, [{"data": {"id": "loc-9", "type": "url", "target": TARGET}}]
        return 204, None

    configured.answer = answer
    assert benben("backstage", "unregister").code == 0
    assert configured.calls[-1].path == "/api/catalog/locations/loc-9"
    configured.answer = lambda call: (
        (200, []) if call.path == "/api/catalog/locations" else (404, None)
    )
    result = benben("backstage", "unregister")
    assert result.code == 0
    assert result.out.endswith(": nothing to do\n")
    assert all(c.method == "GET" for c in configured.calls[-2:])


def test_unregister_never_deletes_another_location(
    benben: Callable[..., Any], configured: FakeBackstage
) -> None:
    other = "https://github.com/acme/catalog/blob/main/all.yaml"
    configured.answer = lambda call: (200, {"id": "loc-1", "type": "url", "target": other})
    result = benben("backstage", "unregister")
    assert result.code == 1
    assert f"comes from the location '{other}'" in one_line_error(result.err)
    assert [c.method for c in configured.calls] == ["GET"]


def test_entities_prints_what_the_instance_serves(
    benben: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BENBEN_PUBLIC_URL", PUBLIC)
    monkeypatch.setenv("BENBEN_BACKSTAGE_KUBERNETES_ID", "benben-prod")
    result = benben("backstage", "entities")
    assert result.code == 0, result.err
    documents = list(yaml.safe_load_all(result.out))
    names = [d["metadata"]["name"] for d in documents]
    assert names == [
        NAME,
        f"{NAME}-api",
        f"{NAME}-backstage",
        f"{NAME}-console",
        f"{NAME}-files",
        f"{NAME}-webhooks",
    ]
    annotations = documents[0]["metadata"]["annotations"]
    assert annotations["backstage.io/kubernetes-id"] == "benben-prod"
    as_json = benben("backstage", "entities", "--json")
    assert as_json.code == 0
    assert yaml.safe_load(as_json.out) == documents


def test_backstage_is_a_benben_command(benben: Callable[..., Any]) -> None:
    listing = benben("--help")
    assert "backstage  Register this instance in a Backstage catalog" in listing.out
    help_text = benben("backstage", "--help")
    assert help_text.code == 0
    listed = re.findall(r"^    (\w+)", help_text.out, flags=re.MULTILINE)
    assert listed == ["register", "unregister", "entities"]
