// Change streams (docs/realtime.md) read through fetch, so that the client's Authorization header
// and its token refresh apply (EventSource can send neither). A Subscription reconnects on its own
// and resumes after the last event it delivered: the server replays what came meanwhile, so the
// handler sees every change once, in order, across reconnections.

import { HttpError, ProblemError } from "./benben-errors.js";
import { path } from "./benben-query.js";
import { EventStreamParser } from "./benben-sse.js";

const API = "/api/v1";
const POSITION = /^([0-9]+)-([0-9]+)$/;
const FIRST_RETRY_MS = 1000; // until the server's `retry:` hint
const MAX_RETRY_MS = 30_000;
const HEALTHY_MS = 1000; // a stream ending sooner counts as a failure: no reconnection loop
const SHUTDOWN_SPREAD_MS = 500; // clients of an instance going away do not all return at once
// Statuses a retry may cure; any other 4xx (bad parameters, no such collection) will not.
const RETRIABLE = new Set([408, 425, 429]);

/** Why a subscription stopped for good: the server ended its session (`reason`). */
export class SubscriptionError extends Error {
  constructor(message, reason) {
    super(message);
    this.name = "SubscriptionError";
    this.reason = reason;
  }
}

/** -1, 0 or 1 as feed position `a` ("<tx>-<n>") is before, at or after `b`. */
export function comparePositions(a, b) {
  const [, atx, an] = POSITION.exec(a) ?? [];
  const [, btx, bn] = POSITION.exec(b) ?? [];
  if (atx === undefined || btx === undefined) throw new TypeError(`not feed positions: ${a}, ${b}`);
  // BigInt: a transaction number may pass 2^53.
  const order = BigInt(atx) - BigInt(btx) || BigInt(an) - BigInt(bn);
  return order === 0n ? 0 : order < 0n ? -1 : 1;
}

function changesPath(collection) {
  return collection == null ? `${API}/changes` : API + path`/collections/${collection}/changes`;
}

function streamQuery({ collections, types }) {
  const list = (value) => (Array.isArray(value) ? value.join(",") : value);
  return { collections: list(collections), types: list(types) };
}

/** Mints a single-use ticket and returns the stream's URL with it, for EventSource. */
export async function changesUrl(bb, collection, { collections, types, lastEventId, signal } = {}) {
  const minted = await bb.request("POST", `${API}/changes/tickets`, { signal });
  const query = { ...streamQuery({ collections, types }), last_event_id: lastEventId, ticket: minted.ticket };
  return bb.url(changesPath(collection), query);
}

const noop = () => {};

function deferred() {
  let settle;
  const promise = new Promise((resolve, reject) => {
    settle = { resolve, reject };
  });
  promise.catch(noop); // unobserved, a rejection must not crash Node
  return { promise, ...settle };
}

function abortError() {
  return new DOMException("The subscription was closed", "AbortError");
}

/** An error of the caller's callback, reported as a throwing event listener's is. */
function reportAsync(error) {
  if (typeof globalThis.reportError === "function") globalThis.reportError(error);
  else
    setTimeout(() => {
      throw error;
    });
}

/** A change stream kept open: see Benben.subscribe(). */
export class Subscription {
  constructor(bb, collection, handler, options = {}) {
    if (typeof handler !== "function") throw new TypeError("subscribe: the handler must be a function");
    if (options.lastEventId != null && !POSITION.test(options.lastEventId)) {
      throw new TypeError(`subscribe: lastEventId must be an event id like "812-40", not ${options.lastEventId}`);
    }
    this._bb = bb;
    this._path = changesPath(collection);
    this._query = streamQuery(options);
    this._handler = handler;
    this._options = options;
    this._retryMs = options.retryDelay ?? FIRST_RETRY_MS;
    this._maxRetryMs = options.maxRetryDelay ?? MAX_RETRY_MS;
    this._controller = null; // the connection's
    this._wake = noop; // ends the wait before the next connection
    this._sentToken = null;
    this._openedAt = null; // when the current connection's ready event came
    /** The id of the last event handled (or of where the stream started): resumed after. */
    this.lastEventId = options.lastEventId ?? null;
    /** "connecting", "open", "waiting" (to reconnect) or "closed". */
    this.state = "connecting";
    this._ready = deferred();
    this._done = deferred();
    /** Settles with the first `ready` event's data; rejects if the subscription stops first. */
    this.ready = this._ready.promise;
    /** Settles once the subscription stopped: resolves after close(), rejects with a fatal error. */
    this.done = this._done.promise;
    this._onAbort = () => this.close();
    if (options.signal?.aborted) this.close();
    else {
      options.signal?.addEventListener("abort", this._onAbort, { once: true });
      this._run().catch((error) => this._fail(error)); // a bug of ours: stopped, not left hanging
    }
  }

  /** Stops for good: the connection is closed and nothing is reconnected. */
  close() {
    if (this.state === "closed") return;
    this._stop();
    this._ready.reject(abortError());
    this._done.resolve();
  }

  _stop() {
    this.state = "closed";
    this._controller?.abort(abortError());
    this._wake();
    this._options.signal?.removeEventListener("abort", this._onAbort);
  }

  get _closed() {
    return this.state === "closed";
  }

  async _run() {
    let failures = 0; // connections in a row that failed or ended early: the backoff's exponent
    while (!this._closed) {
      let delay;
      this._openedAt = null;
      try {
        const reason = await this._stream();
        if (this._closed) break;
        failures = this._healthy() ? 0 : failures + 1;
        delay = await this._afterEnd(reason ?? "disconnected", failures);
      } catch (error) {
        if (this._closed) break;
        if (isFatal(error)) {
          this._fail(error);
          break;
        }
        failures = this._healthy() ? 1 : failures + 1; // a long-lived stream's drop starts afresh
        delay = this._backoff(failures, retryAfterMs(error));
        await this._call("onError", error, { fatal: false, retryIn: delay });
      }
      if (delay > 0 && !this._closed) {
        this.state = "waiting";
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, delay);
          this._wake = () => (clearTimeout(timer), resolve());
        });
      }
    }
  }

  /** Whether the last connection opened and lasted: its end is no failure. */
  _healthy() {
    return this._openedAt !== null && Date.now() - this._openedAt >= HEALTHY_MS;
  }

  /** The delay before reconnecting after the stream ended for `reason`. */
  async _afterEnd(reason, failures) {
    if (reason === "token-revoked") {
      throw new SubscriptionError("The session was revoked: the change stream ended", reason);
    }
    let refreshed = false;
    if (reason === "token-expired") {
      // Unless another request refreshed meanwhile (the client's refresh is single-flight).
      const bb = this._bb;
      if (bb.canRefresh && bb.accessToken === this._sentToken) await bb.refresh();
      refreshed = bb.accessToken !== this._sentToken; // a fresh token: no reason to wait
      if (this._closed) return 0;
    }
    let delay;
    if (refreshed) delay = 0;
    else if (failures > 0) delay = this._backoff(failures);
    else if (reason === "shutdown") delay = Math.round(Math.random() * SHUTDOWN_SPREAD_MS);
    else if (reason === "max-duration" || reason === "token-expired") delay = 0;
    else delay = this._backoff(1); // slow-consumer, a dropped connection, a reason unknown here
    await this._call("onEnd", { reason, reconnectIn: delay });
    return delay;
  }

  /** The server's retry hint doubled per failure, capped, jittered (half to all of it). */
  _backoff(failures, atLeast = 0) {
    const full = Math.min(this._maxRetryMs, this._retryMs * 2 ** Math.max(0, failures - 1));
    return Math.max(atLeast, Math.round(full / 2 + (Math.random() * full) / 2));
  }

  _fail(error) {
    this._stop();
    this._call("onError", error, { fatal: true, retryIn: null });
    this._ready.reject(error);
    this._done.reject(error);
  }

  /** One connection, read until it ends: the reason of its `end` event, or null. */
  async _stream() {
    this.state = "connecting";
    const bb = this._bb;
    const controller = new AbortController();
    this._controller = controller;
    const connectMs = this._options.timeout ?? bb.timeout;
    const timer = connectMs
      ? setTimeout(() => controller.abort(new DOMException("The change stream did not answer in time", "TimeoutError")), connectMs)
      : null;
    let response;
    try {
      response = await this._open(controller.signal);
    } finally {
      clearTimeout(timer);
    }
    this._sentToken = bb.accessToken;
    const type = response.headers.get("Content-Type") || "";
    if (!/^text\/event-stream/i.test(type) || !response.body) {
      await response.body?.cancel();
      throw new Error(`The change stream answered ${type || "no content type"}, not text/event-stream`);
    }
    const connection = { reason: null, heartbeatMs: null };
    const parser = new EventStreamParser();
    const reader = response.body.getReader();
    let watchdog = null;
    try {
      reading: while (!this._closed) {
        // A silent connection (no heartbeat) is dead even if TCP has not noticed: reconnect.
        if (connection.heartbeatMs) {
          const silent = new DOMException("The change stream went silent (no heartbeat)", "TimeoutError");
          watchdog = setTimeout(() => controller.abort(silent), connection.heartbeatMs);
        }
        const { value, done } = await reader.read();
        clearTimeout(watchdog);
        if (done) break;
        for (const event of parser.push(value)) {
          if (parser.retry !== null) this._retryMs = parser.retry;
          await this._dispatch(event, connection);
          if (connection.reason !== null || this._closed) break reading;
        }
      }
    } finally {
      clearTimeout(watchdog);
      reader.cancel().catch(noop); // closes the connection if the server has not
    }
    return connection.reason;
  }

  async _open(signal) {
    const query = { ...this._query, last_event_id: this.lastEventId ?? undefined };
    const headers = { Accept: "text/event-stream" };
    try {
      // timeout 0: the stream lasts; the connection's own timer (above) bounds the wait.
      return await this._bb.request("GET", this._path, { raw: true, query, headers, signal, timeout: 0 });
    } catch (error) {
      if (!(this.lastEventId !== null && isPositionAhead(error))) throw error;
    }
    // The feed is behind the position resumed from (a database restored from a backup): what
    // the app shows may be newer than the feed. It reloads, and the stream starts from now.
    this.lastEventId = null;
    await this._call("onResync", { reason: "position-ahead", resume_at: null });
    return this._open(signal);
  }

  async _dispatch({ event, data, id }, connection) {
    if (event === "message") {
      if (this.lastEventId !== null && POSITION.test(id) && comparePositions(id, this.lastEventId) <= 0) {
        return; // already handled (never expected from the server; cheap to guarantee)
      }
      await this._call("handler", JSON.parse(data), id);
      if (POSITION.test(id)) this.lastEventId = id;
    } else if (event === "ready") {
      const ready = JSON.parse(data);
      if (POSITION.test(id) && (this.lastEventId === null || comparePositions(id, this.lastEventId) > 0)) {
        this.lastEventId = id;
      }
      const heartbeat = Number(ready.heartbeat_seconds) || 0;
      connection.heartbeatMs = heartbeat > 0 ? heartbeat * 2000 + 5000 : null;
      this._openedAt = Date.now();
      this.state = "open";
      this._ready.resolve(ready);
      await this._call("onReady", ready);
    } else if (event === "resync") {
      // Retention deleted events after our position: the app reloads what it shows.
      if (POSITION.test(id)) this.lastEventId = id;
      await this._call("onResync", JSON.parse(data));
    } else if (event === "end") {
      connection.reason = String(JSON.parse(data).reason ?? "unknown");
    }
    // Other events are a newer server's: ignored, as EventSource would.
  }

  /** Calls the handler or an option's callback; its errors go to onError, the stream goes on. */
  async _call(name, ...args) {
    const callback = name === "handler" ? this._handler : this._options[name];
    if (typeof callback !== "function") return;
    try {
      await callback(...args);
    } catch (error) {
      if (name !== "onError" && typeof this._options.onError === "function") {
        try {
          await this._options.onError(error, { fatal: false, retryIn: null, callback: name });
          return;
        } catch (again) {
          reportAsync(again);
        }
      }
      reportAsync(error);
    }
  }
}

function isFatal(error) {
  if (error instanceof SubscriptionError) return true;
  if (error instanceof HttpError) return !(error.status >= 500 || RETRIABLE.has(error.status));
  // A refused refresh is an HttpError (fatal above); the rest (network errors, timeouts, a
  // malformed frame) may pass.
  return false;
}

function retryAfterMs(error) {
  const value = error instanceof HttpError ? error.headers?.get("Retry-After") : null;
  if (!value) return 0;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? 0 : Math.max(0, date - Date.now());
}

function isPositionAhead(error) {
  return (
    error instanceof ProblemError &&
    error.status === 400 &&
    error.errors.some((entry) => entry.name === "last_event_id" || entry.name === "Last-Event-ID")
  );
}
