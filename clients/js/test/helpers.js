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
