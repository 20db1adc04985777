// What the tests need from their environment: a live Benben and an administrator's credentials.
// `BENBEN_URL=http://127.0.0.1:6543 BENBEN_PASSWORD=... node --test test/` runs them by hand;
// tests/client/test_client_node.py starts a server and sets these.
import { Benben } from "../benben.js";

export const BASE_URL = process.env.BENBEN_URL ?? "http://127.0.0.1:6543";
export const USERNAME = process.env.BENBEN_USERNAME ?? "admin";
export const PASSWORD = process.env.BENBEN_PASSWORD ?? "correct horse battery staple";

/** A client logged in as the administrator, with its own session. */
export async function loggedIn(options = {}) {
  const bb = new Benben({ baseUrl: BASE_URL, timeout: 10_000, ...options });
  await bb.login(USERNAME, PASSWORD);
  return bb;
}

/** A collection id no other test (nor an earlier run on the same server) uses. */
export function uniqueId(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A token the server refuses as invalid (as an expired one is): its signature is replaced. */
export function spoiled(token) {
  const [header, payload] = token.split(".");
  return `${header}.${payload}.${"A".repeat(43)}`;
}

/** A fetch that counts the requests to each path. */
export function countingFetch() {
  const counts = new Map();
  const fetchImpl = (input, init) => {
    const path = new URL(typeof input === "string" ? input : input.url).pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    return fetch(input, init);
  };
  return { fetch: fetchImpl, count: (path) => counts.get(path) ?? 0 };
}

/**
 * Resolves once `predicate()` holds; rejects after `timeout` ms saying what it waited for (`what`:
 * a string, or a function giving one then, with what the test saw).
 */
export async function waitFor(predicate, what, timeout = 8000) {
  const deadline = Date.now() + timeout;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === "function" ? what() : what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A fetch whose change streams (…/changes) can be tampered with: `tamper(n)` returns a function
 * of the n-th stream's body (1-based) giving the body the client reads, or nothing to leave it.
 * `streams` lists each stream request's URL and the access token it carried; `base` sends.
 */
export function streamingFetch(tamper = () => null, base = fetch) {
  const streams = [];
  const fetchImpl = async (input, init) => {
    const response = await base(input, init);
    const url = new URL(typeof input === "string" ? input : input.url);
    if (!url.pathname.endsWith("/changes") || !response.ok) return response;
    const token = new Headers(init?.headers).get("Authorization")?.replace(/^Bearer /, "") ?? null;
    streams.push({ url, token });
    const change = tamper(streams.length);
    if (!change) return response;
    return new Response(change(response.body), { status: response.status, headers: response.headers });
  };
  return { fetch: fetchImpl, streams };
}

/**
 * A body transform passing the stream's first `count` frames, then calling `finish(controller)`
 * (enqueue more, error, terminate) and dropping the rest.
 */
export function afterFrames(count, finish) {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let seen = 0;
  let pending = "";
  return (body) =>
    body.pipeThrough(
      new TransformStream({
        transform(chunk, controller) {
          if (seen >= count) return;
          pending += decoder.decode(chunk, { stream: true });
          for (let end = pending.indexOf("\n\n"); seen < count && end >= 0; end = pending.indexOf("\n\n")) {
            controller.enqueue(encoder.encode(pending.slice(0, end + 2)));
            pending = pending.slice(end + 2);
            seen += 1;
          }
          if (seen >= count) finish(controller);
        },
      }),
    );
}

/** A frame ending the stream as the server does, for reason `reason`. */
export function endFrame(reason) {
  return new TextEncoder().encode(`event: end\ndata: {"reason":"${reason}"}\n\n`);
}
