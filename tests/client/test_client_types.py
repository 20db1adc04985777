"""The client's data types against the API: each interface of ``benben-types.d.ts`` has exactly
the properties of its schema in the OpenAPI document served by an app with every installed
plugin, the same ones required; the committed files are what ``python -m benben.client`` writes;
and TypeScript accepts the declarations and a typical use of them."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import webtest

from benben.client.__main__ import SERVED, SOURCE, main
from benben.client.types import named_schemas
from benben.testing_services import unavailable

ROOT = Path(__file__).resolve().parents[2]
TYPES = ROOT / SOURCE / "benben-types.d.ts"
TYPESCRIPT = "typescript@5.9.3"

_INTERFACE = re.compile(r"^export interface (\w+) \{\n(.*?)^\}", re.MULTILINE | re.DOTALL)
_MEMBER = re.compile(r'^  ("[^"]+"|[\w$]+)(\?)?: ', re.MULTILINE)


def declared_interfaces(text: str) -> dict[str, dict[str, bool]]:
    """``{interface: {property: required}}`` of the top-level members of each interface."""
    found: dict[str, dict[str, bool]] = {}
    for name, body in _INTERFACE.findall(text):
        found[name] = {m[0].strip('"'): not m[1] for m in _MEMBER.findall(body)}
    return found


def test_every_schema_has_its_interface(app: webtest.TestApp) -> None:
    document = app.get("/api/v1/openapi.json").json
    declared = declared_interfaces(TYPES.read_text(encoding="utf-8"))
    checked = 0
    for name, schema in named_schemas(document).items():
        properties: dict[str, Any] = schema.get("properties") or {}
        if schema.get("type") != "object" or not properties:
            assert f"export type {name} = " in TYPES.read_text(encoding="utf-8"), name
            continue
        assert name in declared, f"{name} is not declared: run python -m benben.client"
        required = set(schema.get("required", ()))
        expected = {key: key in required for key in properties}
        assert declared[name] == expected, f"{name} drifted: run python -m benben.client"
        checked += 1
    assert checked >= 40  # users, tokens, collections, records, attachments, webhooks...
    for name in ("Collection", "BenbenRecord", "Problem", "User", "Group", "ApiToken"):
        assert name in declared
    for name in ("Attachment", "Webhook", "WebhookDelivery"):
        assert name in declared


def test_generated_files_are_up_to_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["--check"]) == 0, "stale: run python -m benben.client"
    assert (ROOT / SERVED / "benben.js").read_bytes() == (ROOT / SOURCE / "benben.js").read_bytes()


USAGE = """\
import { Benben, ProblemError, type BenbenRecord, type Collection } from "./benben.js";

interface Book { title: string; price?: number }

export async function use(bb: Benben): Promise<number> {
  await bb.login("admin", "secret");
  const collection: Collection = await bb.collections.get("books");
  const book = await bb.records<Book>("books").get("dune");
  const title: string = book.data.title;
  await bb.records<Book>("books").put("dune", { data: { title } }, { ifMatch: book });
  let total = 0;
  for await (const record of bb.records("books").iterate({ price__gt: 3, _sort: ["-price"] })) {
    if ("data" in record) total += (record as BenbenRecord).last_modified;
  }
  try {
    await bb.records("books").create({ title: 1 });
  } catch (err) {
    if (err instanceof ProblemError) return err.errors.length + err.status;
  }
  const files = bb.attachments("books", "dune");
  await files.upload("a.txt", new Uint8Array([104, 105]), { contentType: "text/plain" });
  const response: Response = await files.download("a.txt");
  const live = bb.subscribe("books", (event) => { total += event.data.last_modified ?? 0; }, {
    types: ["record.*"],
    onError: (error, { fatal }) => console.log(error, fatal),
  });
  total += (await live.ready).expires_in;
  live.close();
  return total + collection.last_modified + (await response.arrayBuffer()).byteLength;
}
"""


@pytest.mark.slow
def test_typescript_accepts_the_declarations(tmp_path: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        unavailable("npm, to type-check the client's declarations")
    install = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--prefix", str(tmp_path), TYPESCRIPT],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if install.returncode != 0:
        unavailable(f"npm install {TYPESCRIPT} failed:\n{install.stderr[-3000:]}")
    work = tmp_path / "work"
    shutil.copytree(ROOT / SOURCE, work, ignore=shutil.ignore_patterns("test", "node_modules"))
    (work / "usage.ts").write_text(USAGE, encoding="utf-8")
    result = subprocess.run(
        [
            str(tmp_path / "node_modules" / ".bin" / "tsc"),
            "--noEmit",
            "--strict",
            "--target",
            "es2022",
            "--module",
            "nodenext",
            "--moduleResolution",
            "nodenext",
            "--lib",
            "es2022,dom,dom.iterable,dom.asynciterable",
            "usage.ts",
            "benben.d.ts",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
