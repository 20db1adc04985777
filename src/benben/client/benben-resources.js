// The API's resources as small objects on the client: bb.collections, bb.records(cid), ...
// Each method is one request; lists return the envelope {data, next, total?} and have an
// iterate() (every item, following `next`) and a pages() (every page) async iterator.

import { path } from "./benben-query.js";

const API = "/api/v1";

/** list/pages/iterate over the list at `url` (records lists type their filters). */
function lister(bb, url, records = false) {
  const list = (query, options = {}) => bb.request("GET", url(), { ...options, query, records });
  async function* pages(query, options = {}) {
    let page = await list(query, options);
    yield page;
    while (page.next) {
      page = await bb.request("GET", page.next, options);
      yield page;
    }
  }
  async function* iterate(query, options) {
    for await (const page of pages(query, options)) yield* page.data;
  }
  return { list, pages, iterate };
}

const jsonPatch = "application/json-patch+json";
const mergePatch = "application/merge-patch+json";

function patchWith(type) {
  return (options, body) => ({ ...options, json: body, headers: { ...(options.headers ?? {}), "Content-Type": type } });
}
const asMergePatch = patchWith(mergePatch);
const asJsonPatch = patchWith(jsonPatch);

function dryRun(options) {
  return options.dryRun ? { ...options, query: { ...(options.query ?? {}), dry_run: "true" } } : options;
}

function collections(bb) {
  const one = (cid) => API + path`/collections/${cid}`;
  return {
    ...lister(bb, () => `${API}/collections`),
    get: (cid, options = {}) => bb.request("GET", one(cid), options),
    create: (body, options = {}) => bb.request("POST", `${API}/collections`, { ...options, json: body }),
    /** PUT: creates or replaces (`dryRun: true` reports the records a new schema refuses). */
    update: (cid, body, options = {}) => bb.request("PUT", one(cid), { ...dryRun(options), json: body }),
    patch: (cid, patch, options = {}) => bb.request("PATCH", one(cid), asMergePatch(dryRun(options), patch)),
    jsonPatch: (cid, ops, options = {}) => bb.request("PATCH", one(cid), asJsonPatch(dryRun(options), ops)),
    delete: (cid, options = {}) => bb.request("DELETE", one(cid), options),
    attachmentPolicy: (cid, options = {}) => bb.request("GET", `${one(cid)}/attachment-policy`, options),
    setAttachmentPolicy: (cid, body, options = {}) =>
      bb.request("PUT", `${one(cid)}/attachment-policy`, { ...options, json: body }),
  };
}

function records(bb, cid) {
  const base = API + path`/collections/${cid}/records`;
  const one = (rid) => `${base}/${encodeURIComponent(rid)}`;
  return {
    ...lister(bb, () => base, true),
    get: (rid, options = {}) => bb.request("GET", one(rid), options),
    create: (data, { permissions, ...options } = {}) =>
      bb.request("POST", base, { ...options, json: permissions ? { data, permissions } : { data } }),
    /** PUT {data, permissions?}: creates (ifNoneMatch: "*" only creates) or replaces. */
    put: (rid, body, options = {}) => bb.request("PUT", one(rid), { ...options, json: body }),
    patch: (rid, patch, options = {}) => bb.request("PATCH", one(rid), asMergePatch(options, patch)),
    jsonPatch: (rid, ops, options = {}) => bb.request("PATCH", one(rid), asJsonPatch(options, ops)),
    delete: (rid, options = {}) => bb.request("DELETE", one(rid), options),
  };
}

function attachments(bb, cid, rid) {
  const base = API + path`/collections/${cid}/records/${rid}/attachments`;
  const one = (name) => `${base}/${encodeURIComponent(name)}`;
  return {
    ...lister(bb, () => base),
    /** Uploads `content` (Blob, ArrayBuffer, typed array, string or ReadableStream) as `name`;
     * `replace: true` creates or replaces (PUT), otherwise a taken name is a 409. */
    upload(name, content, { contentType, replace = false, ...options } = {}) {
      const type = contentType || (typeof Blob !== "undefined" && content instanceof Blob && content.type) || "application/octet-stream";
      const headers = { ...(options.headers ?? {}), "Content-Type": type };
      return replace
        ? bb.request("PUT", one(name), { ...options, headers, body: content })
        : bb.request("POST", base, { ...options, headers, body: content, query: { name } });
    },
    /** The download URL (it needs the Authorization header: use download() in a browser). */
    url: (name, { download = false } = {}) => bb.url(one(name), download ? { download: 1 } : undefined),
    /** The download's Response (read it with .blob(), .arrayBuffer(), .body...). */
    download: (name, { range, ...options } = {}) => {
      const headers = { ...(options.headers ?? {}), ...(range ? { Range: range } : {}) };
      return bb.request("GET", one(name), { ...options, headers, raw: true });
    },
    delete: (name, options = {}) => bb.request("DELETE", one(name), options),
  };
}

function crud(bb, base, { update = "PATCH" } = {}) {
  const one = (id) => `${base}/${encodeURIComponent(id)}`;
  return {
    ...lister(bb, () => base),
    get: (id, options = {}) => bb.request("GET", one(id), options),
    create: (body, options = {}) => bb.request("POST", base, { ...options, json: body }),
    update: (id, body, options = {}) => bb.request(update, one(id), { ...options, json: body }),
    delete: (id, options = {}) => bb.request("DELETE", one(id), options),
  };
}

function groups(bb) {
  const api = crud(bb, `${API}/groups`);
  api.members = (gid) => {
    const base = API + path`/groups/${gid}/members`;
    const one = (uid) => `${base}/${encodeURIComponent(uid)}`;
    return {
      ...lister(bb, () => base),
      /** Adds a member by id ({user_id}) or by username ({username}). */
      add: (who, options = {}) => bb.request("POST", base, { ...options, json: who }),
      get: (uid, options = {}) => bb.request("GET", one(uid), options),
      put: (uid, options = {}) => bb.request("PUT", one(uid), options),
      remove: (uid, options = {}) => bb.request("DELETE", one(uid), options),
    };
  };
  return api;
}

function tokens(bb) {
  const base = `${API}/tokens`;
  const api = crud(bb, base);
  delete api.update;
  api.revoke = api.delete;
  return api;
}

function webhooks(bb) {
  const base = `${API}/webhooks`;
  const one = (id) => `${base}/${encodeURIComponent(id)}`;
  const api = crud(bb, base);
  const deliveriesOf = (id) => lister(bb, () => `${one(id)}/deliveries`);
  api.deliveries = (id, query, options) => deliveriesOf(id).list(query, options);
  api.iterateDeliveries = (id, query, options) => deliveriesOf(id).iterate(query, options);
  api.delivery = (id, deliveryId, options = {}) =>
    bb.request("GET", `${one(id)}/deliveries/${encodeURIComponent(deliveryId)}`, options);
  /** Sends one delivery again, or, given {since} or {since_event}, everything since then. */
  api.redeliver = (id, what, options = {}) =>
    typeof what === "string"
      ? bb.request("POST", `${one(id)}/deliveries/${encodeURIComponent(what)}/redeliver`, options)
      : bb.request("POST", `${one(id)}/redeliver`, { ...options, json: what });
  api.test = (id, options = {}) => bb.request("POST", `${one(id)}/test`, options);
  api.rotate = (id, options = {}) => bb.request("POST", `${one(id)}/secret/rotate`, options);
  return api;
}

function events(bb) {
  const list = (query, options = {}) => bb.request("GET", `${API}/events`, { ...options, query });
  return {
    list,
    /** Follows the feed from `_cursor` until a page comes back empty. */
    async *iterate(query = {}, options = {}) {
      let page = await list(query, options);
      while (page.data.length) {
        yield* page.data;
        page = await bb.request("GET", page.next, options);
      }
    },
  };
}

export function attachResources(bb) {
  bb.collections = collections(bb);
  bb.records = (cid) => records(bb, cid);
  bb.history = (cid) => lister(bb, () => API + path`/collections/${cid}/history`);
  bb.attachments = (cid, rid) => attachments(bb, cid, rid);
  bb.users = crud(bb, `${API}/users`);
  bb.groups = groups(bb);
  bb.tokens = tokens(bb);
  bb.webhooks = webhooks(bb);
  bb.events = events(bb);
}
