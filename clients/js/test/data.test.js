import assert from "node:assert/strict";
import { before, test } from "node:test";

import { Benben, ProblemError } from "../benben.js";
import { loggedIn, uniqueId } from "./helpers.js";

let bb;
let cid;
const schema = {
  type: "object",
  required: ["title"],
  properties: { title: { type: "string" }, price: { type: "number", minimum: 0 }, code: {} },
};

before(async () => {
  bb = await loggedIn();
  cid = uniqueId("books");
  await bb.collections.create({ id: cid, title: "Books", schema, indexed_fields: ["price"] });
});

test("collections: get with its ETag, patch, list", async () => {
  const got = await bb.collections.get(cid);
  assert.equal(got.title, "Books");
  assert.equal(got.etag, `"${got.last_modified}"`);
  assert.ok(!("etag" in JSON.parse(JSON.stringify(got))), "the etag is not part of the JSON");
  const patched = await bb.collections.patch(cid, { description: "What we read" }, { ifMatch: got });
  assert.equal(patched.description, "What we read");
  const ids = [];
  for await (const c of bb.collections.iterate({ _sort: "id" })) ids.push(c.id);
  assert.ok(ids.includes(cid));
  const dry = await bb.collections.patch(cid, { schema: { ...schema, required: ["isbn"] } }, { dryRun: true });
  assert.equal(dry.dry_run, true);
});

test("records: create, get, put, merge patch, JSON patch, delete", async () => {
  const records = bb.records(cid);
  const created = await records.create({ title: "Emma", price: 4 });
  assert.equal(created.data.title, "Emma");
  assert.ok(created.etag);
  const put = await records.put("dune", { data: { title: "Dune", price: 9.5 } });
  assert.equal(put.id, "dune");
  const merged = await records.patch("dune", { data: { price: 8 } }, { ifMatch: put });
  assert.deepEqual(merged.data, { title: "Dune", price: 8 });
  const patched = await records.jsonPatch("dune", [
    { op: "test", path: "/data/price", value: 8 },
    { op: "replace", path: "/data/title", value: "Dune Messiah" },
  ]);
  assert.equal(patched.data.title, "Dune Messiah");
  await assert.rejects(
    records.jsonPatch("dune", [{ op: "test", path: "/data/price", value: 1 }]),
    (err) => err instanceof ProblemError && err.status === 409 && err.type === "urn:benben:problem:patch-conflict",
  );
  const gone = await records.delete(created.id);
  assert.equal(gone.deleted, true);
  await assert.rejects(records.get(created.id), (err) => err.status === 404);
});

test("If-Match with a stale ETag is a ProblemError 412 carrying the current ETag", async () => {
  const records = bb.records(cid);
  const first = await records.put("stale", { data: { title: "One" } });
  const second = await records.put("stale", { data: { title: "Two" } }, { ifMatch: first });
  await assert.rejects(records.put("stale", { data: { title: "Three" } }, { ifMatch: first.etag }), (err) => {
    assert.ok(err instanceof ProblemError);
    assert.equal(err.status, 412);
    assert.equal(err.type, "urn:benben:problem:precondition-failed");
    assert.equal(err.etag, second.etag);
    return true;
  });
});

test("a record the schema refuses is a ProblemError 400 naming each field", async () => {
  await assert.rejects(bb.records(cid).create({ price: -1 }), (err) => {
    assert.ok(err instanceof ProblemError);
    assert.equal(err.status, 400);
    const pointers = err.errors.map((e) => e.pointer).sort();
    assert.deepEqual(pointers, ["/data/price", "/data/title"]);
    return true;
  });
});

test("queries: typed filters, sort, fields, count, and iteration over 3 pages", async () => {
  const qid = uniqueId("query");
  await bb.collections.create({ id: qid });
  const records = bb.records(qid);
  await bb.batch(
    Array.from({ length: 7 }, (_, i) => ({
      method: "PUT",
      path: `/collections/${qid}/records/r${i}`,
      body: { data: { n: i, code: String(i), tag: i % 2 ? "odd" : "even" } },
    })),
  );
  const page = await records.list({ n__ge: 2, tag: "even", _sort: ["-n"], _fields: ["n"], _count: true });
  assert.deepEqual(page.data.map((r) => r.data), [{ n: 6 }, { n: 4 }, { n: 2 }]);
  assert.equal(page.total, 3);
  // The string "3" matches the string only (sent quoted), never the number 3.
  assert.deepEqual((await records.list({ code: "3" })).data.map((r) => r.id), ["r3"]);
  assert.deepEqual((await records.list({ n__in: [1, 5], _sort: "n" })).data.map((r) => r.id), ["r1", "r5"]);
  const pages = [];
  for await (const p of records.pages({ _limit: 3, _sort: "n" })) pages.push(p.data.map((r) => r.data.n));
  assert.deepEqual(pages, [[0, 1, 2], [3, 4, 5], [6]]);
  const all = [];
  for await (const r of records.iterate({ _limit: 3, _sort: "n" })) all.push(r.id);
  assert.equal(all.length, 7);
  await assert.rejects(records.list({ n__foo: 1 }), (err) => err.status === 400 && err.errors[0].name === "n__foo");
});

test("batch: one transaction; a failed operation is a ProblemError naming it", async () => {
  const result = await bb.batch(
    [
      { path: `/api/v1/collections/${cid}/records/b1`, body: { data: { title: "Ulysses" } } },
      { path: `/collections/${cid}/records/b2`, body: { data: { title: "Dubliners" } }, ifNoneMatch: "*" },
    ],
    { defaults: { method: "PUT" } },
  );
  assert.deepEqual(result.responses.map((r) => r.status), [201, 201]);
  await assert.rejects(
    bb.batch([
      { method: "PUT", path: `/collections/${cid}/records/b3`, body: { data: { title: "Exiles" } } },
      { method: "PUT", path: `/collections/${cid}/records/b1`, body: { data: { title: "x" } }, ifMatch: '"1"' },
    ]),
    (err) => err instanceof ProblemError && err.status === 412 && err.problem.operation === 1,
  );
  await assert.rejects(bb.records(cid).get("b3"), (err) => err.status === 404); // rolled back
});

test("history lists the changes of a record", async () => {
  const records = bb.records(cid);
  await records.put("h1", { data: { title: "A" } });
  await records.patch("h1", { data: { title: "B" } });
  const history = await bb.history(cid).list({ record_id: "h1" });
  assert.deepEqual(history.data.map((e) => e.action), ["update", "create"]);
  assert.equal(history.data[0].previous.data.title, "A");
});

test("a timeout aborts the request", async () => {
  // A server that never answers: only the client's AbortSignal ends the wait.
  const hanging = (_url, init) =>
    new Promise((_resolve, reject) => init.signal.addEventListener("abort", () => reject(init.signal.reason)));
  const slow = new Benben({ baseUrl: bb.baseUrl, accessToken: bb.accessToken, fetch: hanging });
  await assert.rejects(slow.collections.list({}, { timeout: 50 }), (err) => err.name === "TimeoutError");
  const controller = new AbortController();
  const pending = slow.me({ signal: controller.signal });
  controller.abort();
  await assert.rejects(pending, (err) => err.name === "AbortError");
});
