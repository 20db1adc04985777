// subscribe() and the session: token refresh, revocation, close(), errors; stream tickets.
import assert from "node:assert/strict";
import { before, test } from "node:test";

import { Benben, EventStreamParser, ProblemError, SubscriptionError } from "../benben.js";
import {
  BASE_URL,
  afterFrames,
  countingFetch,
  endFrame,
  loggedIn,
  spoiled,
  streamingFetch,
  uniqueId,
  waitFor,
} from "./helpers.js";

let bb;
let cid;

before(async () => {
  bb = await loggedIn();
  cid = uniqueId("auth-live");
  await bb.collections.create({ id: cid });
});

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A tamper ending the n-th stream (1-based) after its ready frame with an `end` for `reason`. */
function endingStream(which, reason) {
  const end = afterFrames(1, (controller) => {
    controller.enqueue(endFrame(reason));
    controller.terminate();
  });
  return (n) => (n === which ? end : null);
}

test("end token-expired: one refresh, then the stream resumes with the new token", async () => {
  const counter = countingFetch();
  const { fetch, streams } = streamingFetch(endingStream(1, "token-expired"), counter.fetch);
  const client = await loggedIn({ fetch });
  const seen = [];
  const ends = [];
  const sub = client.subscribe(cid, (event) => seen.push(event.data.id), { onEnd: (end) => ends.push(end) });
  try {
    await waitFor(() => streams.length === 2 && sub.state === "open", "the second stream");
    const made = await bb.records(cid).create({ after: "refresh" });
    await waitFor(() => seen.length === 1, "the change");
    assert.deepEqual(seen, [made.id]);
  } finally {
    sub.close();
  }
  assert.equal(counter.count("/api/v1/auth/refresh"), 1);
  assert.deepEqual(ends[0], { reason: "token-expired", reconnectIn: 0 });
  assert.notEqual(streams[1].token, streams[0].token);
  assert.equal(streams[1].token, client.accessToken);
});

test("a refused token is refreshed (once) and the stream opens", async () => {
  const counter = countingFetch();
  const { fetch, streams } = streamingFetch(() => null, counter.fetch);
  const client = await loggedIn({ fetch });
  client.accessToken = spoiled(client.accessToken); // as an expired one is refused
  const sub = client.subscribe(cid, () => {});
  try {
    await sub.ready;
  } finally {
    sub.close();
  }
  assert.equal(counter.count("/api/v1/auth/refresh"), 1);
  assert.equal(counter.count(`/api/v1/collections/${cid}/changes`), 2); // refused, then retried
  assert.equal(streams.length, 1);
  assert.equal(streams[0].token, client.accessToken);
});

test("end token-revoked stops the subscription with a SubscriptionError", async () => {
  const { fetch, streams } = streamingFetch(endingStream(1, "token-revoked"));
  const client = await loggedIn({ fetch });
  const errors = [];
  const sub = client.subscribe(cid, () => {}, { onError: (error, info) => errors.push({ error, info }) });
  await sub.ready;
  await assert.rejects(sub.done, (error) => error instanceof SubscriptionError && error.reason === "token-revoked");
  assert.equal(sub.state, "closed");
  assert.equal(errors.length, 1);
  assert.deepEqual(errors[0].info, { fatal: true, retryIn: null });
  await pause(300);
  assert.equal(streams.length, 1, "no reconnection after a revocation");
});

test("logout ends the subscription for good (revoked, or refused on reconnection)", async () => {
  const client = await loggedIn();
  const sub = client.subscribe(cid, () => {});
  await sub.ready;
  // Ends the session, its refresh tokens too: the stream ends (token-revoked), or the token it
  // reconnects with (after the server's 2-second streams) is refused and no refresh cures it.
  await new Benben({ baseUrl: BASE_URL, accessToken: client.accessToken }).logout();
  await assert.rejects(
    sub.done,
    (error) =>
      (error instanceof SubscriptionError && error.reason === "token-revoked") ||
      (error instanceof ProblemError && error.status === 401),
  );
  assert.equal(sub.state, "closed");
});

test("close() stops for good, while open or while waiting to reconnect", async () => {
  const { fetch, streams } = streamingFetch(endingStream(2, "slow-consumer"));
  const client = await loggedIn({ fetch });
  const open = client.subscribe(cid, () => {});
  await open.ready;
  open.close();
  await open.done;
  open.close(); // twice is harmless
  assert.equal(open.state, "closed");
  // The second stream ends at once (slow-consumer): closed from onEnd, before its reconnection.
  const waiting = client.subscribe(cid, () => {}, { maxRetryDelay: 100, onEnd: () => waiting.close() });
  await waiting.done;
  await pause(400); // four times the longest backoff
  assert.equal(streams.length, 2);
  assert.equal(waiting.state, "closed");
});

test("an AbortSignal closes the subscription; one aborted already never connects", async () => {
  const { fetch, streams } = streamingFetch();
  const client = await loggedIn({ fetch });
  const controller = new AbortController();
  const sub = client.subscribe(cid, () => {}, { signal: controller.signal });
  await sub.ready;
  controller.abort();
  await sub.done;
  assert.equal(sub.state, "closed");
  const late = client.subscribe(cid, () => {}, { signal: controller.signal });
  await assert.rejects(late.ready, (error) => error.name === "AbortError");
  await pause(100);
  assert.equal(streams.length, 1);
});

test("a collection one may not read is a fatal 404: ready and done reject", async () => {
  const errors = [];
  const sub = bb.subscribe(uniqueId("missing"), () => {}, { onError: (error, info) => errors.push(info) });
  await assert.rejects(sub.ready, (error) => error instanceof ProblemError && error.status === 404);
  await assert.rejects(sub.done, (error) => error.status === 404);
  assert.deepEqual(errors, [{ fatal: true, retryIn: null }]);
  const badTypes = bb.subscribeAll(() => {}, { types: "record..created" });
  await assert.rejects(badTypes.done, (error) => error.status === 400 && error.errors[0].name === "types");
  assert.throws(() => bb.subscribe(cid, () => {}, { collections: [cid] }), TypeError);
  assert.throws(() => bb.subscribe(cid, "not a function"), TypeError);
});

test("a handler that throws is reported to onError; the stream goes on", async () => {
  const errors = [];
  let calls = 0;
  const sub = bb.subscribe(
    cid,
    () => {
      calls += 1;
      if (calls === 1) throw new Error("handler bug");
    },
    { onError: (error, info) => errors.push({ error, info }) },
  );
  try {
    await sub.ready;
    await bb.records(cid).create({ n: 1 });
    await bb.records(cid).create({ n: 2 });
    await waitFor(() => calls === 2, "both changes");
  } finally {
    sub.close();
  }
  assert.equal(errors.length, 1);
  assert.equal(errors[0].error.message, "handler bug");
  assert.deepEqual(errors[0].info, { fatal: false, retryIn: null, callback: "handler" });
});

test("changesUrl mints a single-use ticket URL that a plain fetch can open", async () => {
  const url = await bb.changesUrl(cid, { types: ["record.*"] });
  assert.equal(new URL(url).pathname, `/api/v1/collections/${cid}/changes`);
  assert.match(new URL(url).searchParams.get("ticket"), /\S/);
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal }); // no Authorization header
  assert.equal(response.status, 200);
  assert.match(response.headers.get("Content-Type"), /^text\/event-stream/);
  const parser = new EventStreamParser();
  const reader = response.body.getReader();
  let ready;
  while (!ready) {
    const { value, done } = await reader.read();
    assert.ok(!done, "the stream ended before its ready event");
    ready = parser.push(value).find((event) => event.event === "ready");
  }
  controller.abort();
  assert.deepEqual(JSON.parse(ready.data).types, ["record.*"]);
  const again = await fetch(url); // the ticket is spent
  assert.equal(again.status, 401);
  await again.body?.cancel();
  const all = new URL(await bb.changesUrl(null, { collections: [cid] }));
  assert.equal(all.pathname, "/api/v1/changes");
  assert.equal(all.searchParams.get("collections"), cid);
});
