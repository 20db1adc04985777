// subscribe(): changes delivered as they happen, and exactly once across reconnections. The
// server's streams last BENBEN_REALTIME_MAX_STREAM_SECONDS (2 s under tests/client), so that
// every test here also crosses a server-ended stream or two.
import assert from "node:assert/strict";
import { before, test } from "node:test";

import { afterFrames, loggedIn, streamingFetch, uniqueId, waitFor } from "./helpers.js";

let bb;
let cid;

before(async () => {
  bb = await loggedIn();
  cid = uniqueId("live");
  await bb.collections.create({ id: cid });
});

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test("subscribe delivers each change to the collection as it happens, in order", async () => {
  const seen = [];
  const sub = bb.subscribe(cid, (event, id) => seen.push({ event, id }));
  try {
    const ready = await sub.ready;
    assert.deepEqual(ready.collections, [cid]);
    assert.equal(sub.state, "open");
    assert.equal(sub.lastEventId, ready.position);
    const records = bb.records(cid);
    const made = await records.create({ title: "Emma" });
    await records.patch(made.id, { data: { title: "Emma!" } });
    await records.delete(made.id);
    await waitFor(() => seen.length === 3, "three changes");
    assert.deepEqual(
      seen.map(({ event }) => [event.type, event.data.collection, event.data.id]),
      [
        ["record.created", cid, made.id],
        ["record.updated", cid, made.id],
        ["record.deleted", cid, made.id],
      ],
    );
    assert.equal(seen[1].event.data.data.title, "Emma!");
    assert.equal(sub.lastEventId, seen[2].id);
  } finally {
    sub.close();
  }
  await sub.done;
  assert.equal(sub.state, "closed");
});

test("streams the server ends are resumed: no gap, no duplicate", async () => {
  const ends = [];
  const errors = [];
  const { fetch, streams } = streamingFetch();
  const client = await loggedIn({ fetch });
  const ids = [];
  const sub = client.subscribe(cid, (event) => event.type === "record.created" && ids.push(event.data.id), {
    onEnd: (end) => ends.push(end),
    onError: (error, info) => errors.push(`${error} ${JSON.stringify(info)}`),
  });
  const written = [];
  try {
    await sub.ready;
    // Writes spread over more than one of the server's 2-second streams.
    for (let i = 0; i < 14; i += 1) {
      written.push((await bb.records(cid).create({ n: i })).id);
      await pause(180);
    }
    const saw = () => `every record created: ${JSON.stringify({ ids, written, ends, errors, streams: streams.length })}`;
    await waitFor(() => ids.length >= written.length, saw);
    await pause(300); // a duplicate would come now
  } finally {
    sub.close();
  }
  assert.deepEqual(ids, written);
  assert.ok(ends.some((end) => end.reason === "max-duration" && end.reconnectIn === 0), JSON.stringify(ends));
  assert.ok(streams.length >= 2, `${streams.length} stream(s)`);
  // Each reconnection resumed after the last event handled (the ready event's id at first).
  for (const { url } of streams.slice(1)) assert.match(url.searchParams.get("last_event_id"), /^[0-9]+-[0-9]+$/);
});

test("a dropped connection is resumed after a short backoff, reported to onError", async () => {
  const errors = [];
  // The first stream breaks after its ready frame and one change, mid-stream.
  const cut = afterFrames(2, (controller) => controller.error(new TypeError("connection reset (test)")));
  const { fetch, streams } = streamingFetch((n) => (n === 1 ? cut : null));
  const client = await loggedIn({ fetch });
  const ids = [];
  const positions = [];
  const handle = (event, id) => event.type === "record.created" && (ids.push(event.data.id), positions.push(id));
  const sub = client.subscribe(cid, handle, {
    maxRetryDelay: 200,
    onError: (error, info) => errors.push({ error, info }),
  });
  const written = [];
  try {
    await sub.ready;
    for (let i = 0; i < 4; i += 1) written.push((await bb.records(cid).create({ cut: i })).id);
    await waitFor(() => ids.length >= written.length, "every record created");
    await pause(300);
  } finally {
    sub.close();
  }
  assert.deepEqual(ids, written);
  assert.ok(streams.length >= 2);
  // Resumed right after the one change the broken stream delivered.
  assert.equal(streams[1].url.searchParams.get("last_event_id"), positions[0]);
  assert.equal(errors[0].info.fatal, false);
  assert.ok(errors[0].info.retryIn <= 200);
  assert.match(String(errors[0].error), /connection reset/);
});

test("subscribeAll follows several collections, of the types asked for", async () => {
  const other = uniqueId("live-other");
  const unwatched = uniqueId("live-unwatched");
  for (const id of [other, unwatched]) await bb.collections.create({ id });
  const seen = [];
  const sub = bb.subscribeAll((event) => seen.push([event.type, event.data.collection]), {
    collections: [cid, other],
    types: ["record.created"],
  });
  try {
    const ready = await sub.ready;
    assert.deepEqual(ready.collections, [cid, other].sort());
    assert.deepEqual(ready.types, ["record.created"]);
    const a = await bb.records(cid).create({ where: "a" });
    await bb.records(unwatched).create({ where: "nowhere" });
    await bb.records(cid).patch(a.id, { data: { where: "a!" } });
    await bb.records(other).create({ where: "b" });
    await waitFor(() => seen.length >= 2, "two creations");
    await pause(300);
  } finally {
    sub.close();
  }
  assert.deepEqual(seen, [
    ["record.created", cid],
    ["record.created", other],
  ]);
});

test("resumes from a lastEventId kept from an earlier subscription", async () => {
  const first = bb.subscribe(cid, () => {});
  const { position } = await first.ready;
  first.close();
  const made = await bb.records(cid).create({ while: "away" });
  const seen = [];
  const again = bb.subscribe(cid, (event) => seen.push(event.data.id), { lastEventId: position });
  try {
    await waitFor(() => seen.length >= 1, "the change made while away");
  } finally {
    again.close();
  }
  assert.deepEqual(seen, [made.id]);
  assert.throws(() => bb.subscribe(cid, () => {}, { lastEventId: "yesterday" }), TypeError);
});

test("a lastEventId ahead of the feed (a restored database) is a resync, then the stream opens", async () => {
  const resyncs = [];
  const sub = bb.subscribe(cid, () => {}, { lastEventId: "999999999-0", onResync: (resync) => resyncs.push(resync) });
  try {
    const ready = await sub.ready;
    assert.deepEqual(resyncs, [{ reason: "position-ahead", resume_at: null }]);
    assert.equal(sub.lastEventId, ready.position);
    assert.notEqual(ready.position, "999999999-0");
  } finally {
    sub.close();
  }
});
