// Benben's JavaScript client: one dependency-free ES module for browsers and Node 20+.
// Served by every Benben instance at /client/benben.js; published as @benben/client.
// The API is described in README.md and typed in benben.d.ts.

import { HttpError, INVALID_TOKEN, ProblemError, errorFor } from "./benben-errors.js";
import { etagOf, plainQuery, recordQuery } from "./benben-query.js";
import { Subscription, changesUrl } from "./benben-realtime.js";
import { attachResources } from "./benben-resources.js";

export { HttpError, ProblemError } from "./benben-errors.js";
export { filterValue, recordQuery, plainQuery } from "./benben-query.js";
export { Subscription, SubscriptionError, comparePositions } from "./benben-realtime.js";
export { EventStreamParser } from "./benben-sse.js";

export const API = "/api/v1";

export class Benben {
  /**
   * @param {object} [options]
   * @param {string} [options.baseUrl] the instance's URL ("" or omitted: the page's own origin)
   * @param {string} [options.accessToken] @param {string} [options.refreshToken]
   * @param {() => Promise<string | {access_token: string, refresh_token?: string}>} [options.refresh]
   *   replaces the refresh-token exchange (the console's cookie-based refresh)
   * @param {(tokens: object | null) => void} [options.onTokens] told of every new token pair
   * @param {typeof fetch} [options.fetch] @param {number} [options.timeout] milliseconds
   */
  constructor(options = {}) {
    this.baseUrl = (options.baseUrl ?? "").replace(/\/+$/, "");
    this.accessToken = options.accessToken ?? null;
    this.refreshToken = options.refreshToken ?? null;
    this.timeout = options.timeout ?? null;
    this._refresher = options.refresh ?? null;
    this._onTokens = options.onTokens ?? null;
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== "function") throw new TypeError("Benben: no fetch: pass options.fetch");
    // Called unbound: a browser's fetch throws "Illegal invocation" when called as a method.
    this._fetch = (...args) => fetchImpl(...args);
    this._refreshing = null; // the refresh in flight, shared by every request that needs it
    attachResources(this);
  }

  /** Logs in with a username or email; keeps the tokens and returns the token pair. */
  async login(login, password) {
    const pair = await this.request("POST", `${API}/auth/login`, {
      json: { login, password },
      auth: false,
    });
    this._setTokens(pair);
    return pair;
  }

  /** Ends the login session on the server (its refresh tokens too) and forgets the tokens. */
  async logout() {
    try {
      if (this.accessToken) await this.request("POST", `${API}/auth/logout`);
    } catch (error) {
      // A session the server already ended (expired, revoked) is as logged out as can be.
      if (!(error instanceof HttpError && error.status === 401)) throw error;
    } finally {
      this._setTokens(null);
    }
  }

  /** Gets a new access token now (also done on its own when the server refuses one). */
  refresh() {
    if (!this._refreshing) {
      this._refreshing = this._doRefresh().finally(() => {
        this._refreshing = null;
      });
    }
    return this._refreshing;
  }

  get canRefresh() {
    return Boolean(this._refresher || this.refreshToken);
  }

  async _doRefresh() {
    if (this._refresher) {
      const got = await this._refresher();
      const pair = typeof got === "string" ? { access_token: got } : got;
      if (!pair?.access_token) throw new Error("Benben: the refresh callback gave no access token");
      this._setTokens({ refresh_token: this.refreshToken, ...pair });
      return this.accessToken;
    }
    if (!this.refreshToken) throw new Error("Benben: no refresh token");
    const pair = await this.request("POST", `${API}/auth/refresh`, {
      json: { refresh_token: this.refreshToken },
      auth: false,
    });
    this._setTokens(pair);
    return this.accessToken;
  }

  _setTokens(pair) {
    this.accessToken = pair?.access_token ?? null;
    this.refreshToken = pair?.refresh_token ?? null;
    this._onTokens?.(pair ? { ...pair } : null);
  }

  me(options) {
    return this.request("GET", `${API}/auth/me`, options);
  }

  /** GET /api/v1/: the version, plugins and capabilities (what this instance offers). */
  root(options) {
    return this.request("GET", `${API}/`, options);
  }

  version(options) {
    return this.request("GET", "/version", options);
  }

  /** GET /health/ready; answered (not thrown) even when not ready (503). */
  async health(options) {
    const response = await this.request("GET", "/health/ready", { ...options, raw: true });
    return response.json();
  }

  /** Runs data API operations in one transaction (docs/data-api.md#batch). */
  batch(requests, { defaults, ...options } = {}) {
    const body = { requests: requests.map(normalizeOperation) };
    if (defaults) body.defaults = defaults;
    return this.request("POST", `${API}/batch`, { ...options, json: body });
  }

  /**
   * Calls `handler(event, id)` with each change to collection `collection` as it happens
   * (docs/realtime.md), reconnecting and resuming on its own; returns the Subscription.
   */
  subscribe(collection, handler, options = {}) {
    if (typeof collection !== "string" || !collection) {
      throw new TypeError("subscribe: a collection id (subscribeAll() follows several)");
    }
    if (options.collections !== undefined) {
      throw new TypeError("subscribe: `collections` is subscribeAll()'s option");
    }
    return new Subscription(this, collection, handler, options);
  }

  /** As subscribe(), for every collection the caller may read, or `options.collections`. */
  subscribeAll(handler, options = {}) {
    return new Subscription(this, null, handler, options);
  }

  /**
   * A change stream's URL with a fresh single-use ticket (`?ticket=`) for an EventSource, which
   * cannot send the Authorization header. EventSource reconnects to the same URL, whose ticket is
   * spent: re-mint on its `error`, or use subscribe().
   */
  changesUrl(collection = null, options = {}) {
    return changesUrl(this, collection, options);
  }

  /** The absolute URL of `path` on this instance. */
  url(path, query) {
    const url = /^[a-z][a-z0-9+.-]*:/i.test(path) ? path : this.baseUrl + path;
    const search = query instanceof URLSearchParams ? query : plainQuery(query);
    const qs = search.toString();
    return qs ? `${url}${url.includes("?") ? "&" : "?"}${qs}` : url;
  }

  /**
   * Any request. Returns the parsed JSON (null when empty) with a non-enumerable `etag` when the
   * answer has one, or the Response itself with `raw: true`; throws ProblemError / HttpError.
   */
  async request(method, path, options = {}) {
    const { json, body, headers, query, raw, signal, timeout, records } = options;
    const url = this.url(path, records ? recordQuery(query) : plainQuery(query));
    const init = { method, headers: new Headers(headers ?? {}) };
    if (json !== undefined) {
      init.body = JSON.stringify(json);
      if (!init.headers.has("Content-Type")) init.headers.set("Content-Type", "application/json");
    } else if (body !== undefined) {
      init.body = body;
      if (isStream(body)) init.duplex = "half"; // required by fetch for streamed bodies
    }
    if (!init.headers.has("Accept")) init.headers.set("Accept", "application/json, application/problem+json");
    for (const [name, key] of [["If-Match", "ifMatch"], ["If-None-Match", "ifNoneMatch"]]) {
      const value = options[key] === "*" ? "*" : etagOf(options[key]);
      if (value !== undefined) init.headers.set(name, value);
    }
    const deadline = withTimeout(signal, timeout ?? this.timeout);
    if (deadline.signal) init.signal = deadline.signal;
    try {
      const response = await this._send(url, init, options);
      if (raw) {
        if (!response.ok && response.status !== 304) throw errorFor(response, await response.text(), method);
        return response;
      }
      const text = response.status === 204 ? "" : await response.text();
      if (!response.ok && response.status !== 304) throw errorFor(response, text, method);
      return parseBody(response, text);
    } finally {
      deadline.clear();
    }
  }

  async _send(url, init, options) {
    const useAuth = options.auth !== false && this._sameOrigin(url);
    const sent = useAuth ? this.accessToken : null;
    const response = await this._fetch(url, withToken(init, sent));
    // Retry once after a refresh when the token was refused (expired, revoked) or when none was
    // sent but one can be had (the console restores its session on the first request).
    if (
      response.status !== 401 ||
      !useAuth ||
      options.refresh === false ||
      !this.canRefresh ||
      isStream(init.body)
    ) {
      return response;
    }
    if (sent) {
      const problem = await response
        .clone()
        .json()
        .catch(() => null);
      if (problem?.type !== INVALID_TOKEN) return response;
    }
    // Another request may have refreshed meanwhile: then its token is used, with no new refresh.
    if (this.accessToken === sent) {
      try {
        await this.refresh();
      } catch (error) {
        if (error instanceof HttpError) return response; // the refresh was refused: the 401 stands
        throw error;
      }
    }
    return this._fetch(url, withToken(init, this.accessToken));
  }

  _sameOrigin(url) {
    // The token goes only to this instance, never to another origin a `next` link might name.
    if (!/^[a-z][a-z0-9+.-]*:/i.test(url)) return true;
    const base = this.baseUrl || globalThis.location?.origin;
    if (!base) return true;
    try {
      return new URL(url).origin === new URL(base, globalThis.location?.href).origin;
    } catch {
      return false;
    }
  }
}

function withToken(init, token) {
  const headers = new Headers(init.headers);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  return { ...init, headers };
}

function parseBody(response, text) {
  if (!text) return null;
  const type = response.headers.get("Content-Type") || "";
  const value = /json/i.test(type) ? JSON.parse(text) : text;
  const etag = response.headers.get("ETag");
  if (etag && value && typeof value === "object") {
    // Non-enumerable: JSON.stringify and spreading give the resource alone.
    Object.defineProperty(value, "etag", { value: etag, enumerable: false, configurable: true });
  }
  return value;
}

function isStream(body) {
  return typeof ReadableStream !== "undefined" && body instanceof ReadableStream;
}

function normalizeOperation(op) {
  const out = { ...op };
  if (out.path && !out.path.startsWith("/api/")) out.path = API + out.path;
  if (out.ifMatch !== undefined || out.ifNoneMatch !== undefined) {
    out.headers = { ...(out.headers ?? {}) };
    if (out.ifMatch !== undefined) out.headers["If-Match"] = etagOf(out.ifMatch);
    if (out.ifNoneMatch !== undefined) out.headers["If-None-Match"] = out.ifNoneMatch;
    delete out.ifMatch;
    delete out.ifNoneMatch;
  }
  return out;
}

/** The request's AbortSignal: the caller's, aborted too after `timeout` ms (a TimeoutError). */
function withTimeout(signal, timeout) {
  if (!timeout) return { signal, clear() {} };
  // A timer of our own rather than AbortSignal.timeout(), whose timer Node does not wait for:
  // a script awaiting only a hanging request would exit instead of timing out.
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException("The request timed out", "TimeoutError")),
    timeout,
  );
  if (signal) {
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener("abort", () => controller.abort(signal.reason), { once: true });
  }
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
