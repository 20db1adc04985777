// The event-stream parser and feed positions, without a server.
import assert from "node:assert/strict";
import { test } from "node:test";

import { EventStreamParser, comparePositions } from "../benben.js";

const bytes = (text) => new TextEncoder().encode(text);

/** Every event of `chunks` pushed one after the other. */
function parseAll(chunks, parser = new EventStreamParser()) {
  return chunks.flatMap((chunk) => parser.push(typeof chunk === "string" ? bytes(chunk) : chunk));
}

test("fields, named and unnamed events, multi-line data, the id kept across events", () => {
  const parser = new EventStreamParser();
  const events = parseAll(
    [
      "retry: 3000\nevent: ready\nid: 5-1\ndata: {\"a\": 1}\n\n",
      ": ping\n\n",
      "id: 5-2\ndata: line one\ndata:line two\n\n",
      "data\n\n",
      "event: end\ndata: {}\n\n",
    ],
    parser,
  );
  assert.deepEqual(events, [
    { event: "ready", data: '{"a": 1}', id: "5-1" },
    { event: "message", data: "line one\nline two", id: "5-2" },
    { event: "message", data: "", id: "5-2" },
    { event: "end", data: "{}", id: "5-2" },
  ]);
  assert.equal(parser.retry, 3000);
  assert.equal(parser.comments, 1);
});

test("lines end with LF, CR or CRLF, even split between two chunks", () => {
  const events = parseAll(["id: 1-1\r", "\ndata: a\r\r", "data: b\r\n", "\r", "\n", "data: c\n", "\n"]);
  assert.deepEqual(
    events.map((event) => event.data),
    ["a", "b", "c"],
  );
});

test("a character split between chunks, a BOM, an unfinished event at the end", () => {
  const whole = bytes("\uFEFFdata: caf\u00e9 \u2713\n\ndata: never ended\n");
  const events = parseAll([whole.slice(0, 12), whole.slice(12, 13), whole.slice(13)]);
  assert.deepEqual(events, [{ event: "message", data: "caf\u00e9 \u2713", id: "" }]);
});

test("an event without data is not dispatched; a bad retry and an id with NUL are ignored", () => {
  const parser = new EventStreamParser();
  const events = parseAll(["id: 2-2\nretry: 1s\nevent: nothing\n\n", "id: bad\0id\ndata: x\n\n"], parser);
  assert.deepEqual(events, [{ event: "message", data: "x", id: "2-2" }]);
  assert.equal(parser.retry, null);
});

test("feed positions compare by transaction, then number, beyond 2^53", () => {
  assert.equal(comparePositions("9-1", "10-0"), -1);
  assert.equal(comparePositions("10-2", "10-10"), -1);
  assert.equal(comparePositions("7-7", "7-7"), 0);
  assert.equal(comparePositions("9007199254740993-0", "9007199254740992-5"), 1);
  assert.throws(() => comparePositions("x", "1-1"), TypeError);
});
