import assert from "node:assert/strict";
import { before, test } from "node:test";

import { ProblemError } from "../benben.js";
import { loggedIn, uniqueId } from "./helpers.js";

let bb;
let cid;

before(async () => {
  bb = await loggedIn();
  cid = uniqueId("files");
  await bb.collections.create({ id: cid });
  await bb.records(cid).put("doc", { data: { title: "Doc" } });
});

test("attachments: upload (bytes, Blob, stream), list, download, range, delete", async () => {
  const files = bb.attachments(cid, "doc");
  const text = "hello, attachments\n";
  const uploaded = await files.upload("hello.txt", new TextEncoder().encode(text), { contentType: "text/plain" });
  assert.equal(uploaded.name, "hello.txt");
  assert.equal(uploaded.size, text.length);
  await files.upload("blob.txt", new Blob(["from a blob"], { type: "text/plain" }));
  const stream = new Blob(["streamed"]).stream();
  await files.upload("stream.bin", stream);
  await assert.rejects(files.upload("hello.txt", "again"), (err) => err instanceof ProblemError && err.status === 409);
  await files.upload("hello.txt", "replaced\n", { replace: true, contentType: "text/plain" });

  const names = (await files.list()).data.map((a) => a.name);
  assert.deepEqual(names, ["blob.txt", "hello.txt", "stream.bin"]);
  const record = await bb.records(cid).get("doc");
  assert.deepEqual(Object.keys(record.attachments).sort(), names);

  const download = await files.download("hello.txt");
  assert.equal(await download.text(), "replaced\n");
  const part = await files.download("blob.txt", { range: "bytes=0-3" });
  assert.equal(part.status, 206);
  assert.equal(await part.text(), "from");
  assert.match(files.url("hello.txt"), /\/records\/doc\/attachments\/hello\.txt$/);
  assert.match(files.url("hello.txt", { download: true }), /\?download=1$/);

  const deleted = await files.delete("stream.bin");
  assert.equal(deleted.deleted, true);
  await assert.rejects(files.download("stream.bin"), (err) => err.status === 404);
});

test("webhooks: create, list, update, deliveries, delete", async () => {
  const created = await bb.webhooks.create({ url: "https://example.com/hook", collections: [cid] });
  assert.ok(created.secret);
  const listed = await bb.webhooks.list();
  assert.ok(listed.data.some((w) => w.id === created.id));
  const updated = await bb.webhooks.update(created.id, { enabled: false });
  assert.equal(updated.enabled, false);
  const deliveries = await bb.webhooks.deliveries(created.id, { status: "failed" });
  assert.deepEqual(deliveries.data, []);
  await bb.webhooks.delete(created.id);
  await assert.rejects(bb.webhooks.get(created.id), (err) => err.status === 404);
});

test("the API root, version and health", async () => {
  const root = await bb.root();
  assert.ok(root.capabilities);
  assert.ok((await bb.version()).version);
  assert.equal((await bb.health()).status, "ok");
});
