// The data pages' calls to the API, in one place, through the client's `request` (which refreshes
// the session, throws ProblemError and gives answers a non-enumerable `etag`). Query strings are
// passed as URLSearchParams: the records page's are the API's own, typed as the user wrote them.
const API = "/api/v1";
const enc = encodeURIComponent;

export const collectionPath = (cid) => `${API}/collections/${enc(cid)}`;
export const recordsPath = (cid) => `${collectionPath(cid)}/records`;
export const recordPath = (cid, rid) => `${recordsPath(cid)}/${enc(rid)}`;
export const attachmentsPath = (cid, rid) => `${recordPath(cid, rid)}/attachments`;

/** A list page: `next` is the absolute URL the previous page gave, or null for the first one. */
export function listCollections(client, next) {
  return next ? client.request("GET", next) : client.request("GET", `${API}/collections`, { query: { _sort: "id" } });
}

export function getCollection(client, cid) {
  return client.request("GET", collectionPath(cid));
}

export function createCollection(client, body) {
  return client.request("POST", `${API}/collections`, { json: body });
}

/** A merge patch of a collection (title, description, indexed_fields, permissions). */
export function patchCollection(client, cid, patch) {
  return client.request("PATCH", collectionPath(cid), {
    json: patch,
    headers: { "Content-Type": "application/merge-patch+json" },
  });
}

function schemaPatch(client, cid, schema, query) {
  // JSON Patch `add` replaces the member whatever it held; a merge patch would merge schemas.
  return client.request("PATCH", collectionPath(cid), {
    body: JSON.stringify([{ op: "add", path: "/schema", value: schema }]),
    headers: { "Content-Type": "application/json-patch+json" },
    query,
  });
}

/** The dry run of a schema: {valid, checked, failed, failures: [{id, errors}], truncated}. */
export function schemaDryRun(client, cid, schema) {
  return schemaPatch(client, cid, schema, { dry_run: "true" });
}

export function setSchema(client, cid, schema) {
  return schemaPatch(client, cid, schema, undefined);
}

export function deleteCollection(client, cid) {
  return client.request("DELETE", collectionPath(cid));
}

/** A page of records: params is a URLSearchParams of the query language. */
export function listRecords(client, cid, params) {
  return client.request("GET", recordsPath(cid), { query: params });
}

/** Every record of a query, page after page (the export), as an async iterator of pages. */
export async function* recordPages(client, cid, params) {
  let page = await listRecords(client, cid, params);
  yield page.data;
  while (page.next) {
    page = await client.request("GET", page.next);
    yield page.data;
  }
}

/** A record, with `etag` (non-enumerable) for If-Match. */
export function getRecord(client, cid, rid) {
  return client.request("GET", recordPath(cid, rid));
}

/**
 * Create (rid null: POST, the server picks the id; or PUT If-None-Match: * to choose it) or replace
 * (PUT with If-Match: etag, or unconditionally when etag is null).
 */
export function saveRecord(client, cid, rid, body, { etag = null, create = false } = {}) {
  if (create && !rid) return client.request("POST", recordsPath(cid), { json: body });
  const headers = create ? { "If-None-Match": "*" } : etag ? { "If-Match": etag } : {};
  return client.request("PUT", recordPath(cid, rid), { json: body, headers });
}

export function patchRecordPermissions(client, cid, rid, permissions) {
  // A JSON Patch so that the permissions are replaced as a whole (a merge patch would merge).
  return client.request("PATCH", recordPath(cid, rid), {
    body: JSON.stringify([{ op: "add", path: "/permissions", value: permissions }]),
    headers: { "Content-Type": "application/json-patch+json" },
  });
}

export function deleteRecord(client, cid, rid, etag) {
  return client.request("DELETE", recordPath(cid, rid), { headers: etag ? { "If-Match": etag } : {} });
}

/** Delete records in one transaction: all or none (POST /api/v1/batch). */
export function deleteRecords(client, cid, ids) {
  return client.request("POST", `${API}/batch`, {
    json: { defaults: { method: "DELETE" }, requests: ids.map((rid) => ({ path: recordPath(cid, rid) })) },
  });
}

/** A page of the collection's history (params: URLSearchParams or object), or the `next` URL. */
export function history(client, cid, params, next) {
  return next ? client.request("GET", next) : client.request("GET", `${collectionPath(cid)}/history`, { query: params });
}

export function listAttachments(client, cid, rid) {
  return client.request("GET", attachmentsPath(cid, rid), { query: { _limit: "1000" } });
}

/** Upload a File: POST (409 when the name is taken), or PUT at its name to replace. */
export function uploadAttachment(client, cid, rid, file, { replace = false } = {}) {
  const headers = { "Content-Type": file.type || "application/octet-stream" };
  if (replace) return client.request("PUT", `${attachmentsPath(cid, rid)}/${enc(file.name)}`, { body: file, headers });
  return client.request("POST", attachmentsPath(cid, rid), { body: file, query: { name: file.name }, headers });
}

export function deleteAttachment(client, cid, rid, name) {
  return client.request("DELETE", `${attachmentsPath(cid, rid)}/${enc(name)}`);
}

/** The bytes of an attachment as a Blob (downloads need the Authorization header: no plain link). */
export async function downloadAttachment(client, cid, rid, name) {
  const response = await client.request("GET", `${attachmentsPath(cid, rid)}/${enc(name)}`, { raw: true });
  return response.blob();
}

const userNames = new Map();

/** A user's username from their id (administrators and the user themself may read it), or null. */
export async function userName(client, id) {
  if (userNames.has(id)) return userNames.get(id);
  let name = null;
  try {
    name = (await client.request("GET", `${API}/users/${enc(id)}`)).username;
  } catch {
    name = null; // not allowed (not an administrator) or gone: the principal shows as it is
  }
  userNames.set(id, name);
  return name;
}

/** Users and groups whose name starts with `prefix`: [{principal, label}]; [] for non-admins. */
export async function searchPrincipals(client, prefix) {
  const out = [];
  const lists = [
    ["users", "username__startswith", (u) => ({ principal: `user:${u.id}`, label: u.username })],
    ["groups", "name__startswith", (g) => ({ principal: `group:${g.name}`, label: g.name })],
  ];
  await Promise.all(
    lists.map(async ([list, filter, item]) => {
      try {
        const page = await client.request("GET", `${API}/${list}`, { query: { [filter]: prefix, _limit: "10" } });
        out.push(...page.data.map(item));
      } catch {
        // 403 for non-administrators: principals are then typed in full.
      }
    }),
  );
  return out;
}

/**
 * What the user typed, as a principal: principals as they are; a bare name is looked up as a
 * username (its id), then as a group name.
 */
export async function toPrincipal(client, text, names) {
  if (/^(system\.|role:|user:|group:)/.test(text)) return text;
  for (const [principal, label] of names) if (label === text) return principal;
  try {
    const user = await client.request("GET", `${API}/users/${enc(text)}`);
    names.set(`user:${user.id}`, user.username);
    return `user:${user.id}`;
  } catch {
    // not a user name one may read: try a group
  }
  try {
    const group = await client.request("GET", `${API}/groups/${enc(text)}`);
    return `group:${group.name}`;
  } catch {
    return null;
  }
}
