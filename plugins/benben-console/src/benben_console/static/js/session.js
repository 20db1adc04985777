// The console's session: the access token lives in this module's memory only; the refresh token
// is an HttpOnly cookie scoped to /admin/session that no script can read (see session_api.py).
// Login, refresh and logout go to /admin/session with the X-Benben-Console header (CSRF guard).

let config = null;
let clientModule = null;
let access = null;
let current = null; // {user, me}
let refreshing = null;
const listeners = new Set();

export function init(cfg, module) {
  config = cfg;
  clientModule = module;
}

/** The caller's /auth/me answer ({user, groups, roles, scopes, credential}) or null. */
export function me() {
  return current?.me ?? null;
}

export function user() {
  return current?.user ?? null;
}

export function isAdmin() {
  return Boolean(current?.user?.roles?.includes("admin"));
}

export function accessToken() {
  return access;
}

/** After changing one's own password the API hands a new access token: keep it. */
export function setAccessToken(token) {
  access = token;
}

/** onEnded(fn): fn() when the session ends (logout, or a refresh the server refused). */
export function onEnded(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

async function call(path, { method = "POST", body, token } = {}) {
  const headers = { "X-Benben-Console": "1", Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(config.session + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
  });
  const text = await response.text();
  if (!response.ok) throw errorFor(response, text, method);
  return text ? JSON.parse(text) : null;
}

function errorFor(response, text, method) {
  let problem = null;
  try {
    problem = JSON.parse(text);
  } catch {
    problem = null;
  }
  const init = { status: response.status, headers: response.headers, url: response.url, method };
  if (problem && typeof problem === "object" && !Array.isArray(problem)) {
    return new clientModule.ProblemError(problem, init);
  }
  return new clientModule.ProblemError({ title: `HTTP ${response.status}` }, init);
}

function keep(answer) {
  access = answer.access_token;
  current = { user: answer.user, me: answer.me };
  return answer;
}

function ended() {
  access = null;
  current = null;
  for (const fn of listeners) fn();
}

/** Log in; resolves with {access_token, expires_in, user, me}, throws a ProblemError. */
export async function login(username, password) {
  // `login` takes a username or an email alike.
  return keep(await call("", { body: { login: username, password } }));
}

async function doRefresh() {
  try {
    return keep(await call("/refresh"));
  } catch (error) {
    if (error?.status === 401 || error?.status === 400) ended();
    throw error;
  }
}

/**
 * A new access token from the refresh cookie. Single-flight in this tab, and serialized across
 * tabs with the Web Locks API where there is one: a refresh token is spent by its use, so two
 * tabs refreshing with one cookie at once would look like a stolen token to the server.
 */
export function refresh() {
  if (!refreshing) {
    const run = () => doRefresh();
    const locked = navigator.locks?.request ? navigator.locks.request("benben-console-refresh", run) : run();
    refreshing = locked.finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

/** Restore the session of a reloaded page; false when there is none. */
export async function restore() {
  try {
    await refresh();
    return true;
  } catch (error) {
    if (error?.status === 401 || error?.status === 400) return false;
    throw error;
  }
}

/** End the session on the server (its refresh tokens too) and forget it here. */
export async function logout() {
  try {
    await call("", { method: "DELETE", token: access });
  } finally {
    ended();
  }
}
