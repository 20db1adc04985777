// The records page's state, kept in the address bar: the page's query string *is* the API's query
// (filters as `field__op=value`, `_sort`, `_fields`, `_limit`), so a reload or a shared link shows
// the same records, and what a user sees is what a curl of the same query answers.
// Cursors are not kept: a cursor is bound to its query, and a link opens on the first page.

/** Every operator of the query language (docs/data-queries.md), in the filter builder's order. */
export const OPERATORS = [
  { op: "eq", label: "equals", hint: "JSON value, or text" },
  { op: "ne", label: "does not equal", hint: "JSON value, or text; missing members match" },
  { op: "lt", label: "less than", hint: "a number or a string" },
  { op: "le", label: "at most", hint: "a number or a string" },
  { op: "gt", label: "greater than", hint: "a number or a string" },
  { op: "ge", label: "at least", hint: "a number or a string" },
  { op: "in", label: "is one of", hint: "comma-separated, or a JSON array" },
  { op: "nin", label: "is none of", hint: "comma-separated, or a JSON array; missing members match" },
  { op: "contains", label: "contains", hint: "an array element, or text inside a string" },
  { op: "startswith", label: "starts with", hint: "text" },
  { op: "exists", label: "exists", hint: "true or false" },
];
const KNOWN_OPS = new Set(OPERATORS.map((o) => o.op));

/** The `_` parameters the console keeps in the URL; the API knows them all. */
const KEPT = ["_sort", "_fields", "_limit"];
export const PAGE_SIZES = [25, 50, 100, 250];
export const DEFAULT_LIMIT = 50;

/** Split a filter parameter name: fields never hold `__`, so the first one starts the operator. */
export function splitFilter(name) {
  const at = name.indexOf("__");
  if (at < 0) return { field: name, op: "eq" };
  return { field: name.slice(0, at), op: name.slice(at + 2) };
}

export function filterName({ field, op }) {
  return op === "eq" ? field : `${field}__${op}`;
}

export function isKnownOperator(op) {
  return KNOWN_OPS.has(op);
}

/**
 * parseState("?price__ge=10&_sort=-price") -> {filters: [{field, op, value}], sort: [{field, desc}],
 * fields: [..] | null, limit: number}. Unknown `_` parameters are dropped (the API would refuse them).
 */
export function parseState(search) {
  const params = new URLSearchParams(search);
  const state = { filters: [], sort: [], fields: null, limit: DEFAULT_LIMIT };
  for (const [name, value] of params) {
    if (!name.startsWith("_")) {
      state.filters.push({ ...splitFilter(name), value });
    } else if (name === "_sort") {
      state.sort = value
        .split(",")
        .filter(Boolean)
        .map((key) => (key.startsWith("-") ? { field: key.slice(1), desc: true } : { field: key, desc: false }));
    } else if (name === "_fields") {
      state.fields = value.split(",").filter(Boolean);
    } else if (name === "_limit") {
      const limit = Number.parseInt(value, 10);
      if (limit > 0) state.limit = limit;
    }
  }
  return state;
}

/** The query string (without "?") of a state: the same parameters as the API's. */
export function toSearch(state) {
  const params = new URLSearchParams();
  for (const f of state.filters) params.append(filterName(f), f.value);
  if (state.sort.length) params.set("_sort", state.sort.map((s) => (s.desc ? `-${s.field}` : s.field)).join(","));
  if (state.fields && state.fields.length) params.set("_fields", state.fields.join(","));
  if (state.limit !== DEFAULT_LIMIT) params.set("_limit", String(state.limit));
  return params.toString();
}

/** The API query of a state (URLSearchParams: a filter may be given twice). */
export function apiParams(state, { cursor = null, count = false } = {}) {
  const params = new URLSearchParams(toSearch(state));
  if (!params.has("_limit")) params.set("_limit", String(state.limit));
  if (cursor) params.set("_cursor", cursor);
  if (count) params.set("_count", "true");
  return params;
}

/** The `_cursor` of an API `next` URL, or null. */
export function cursorOf(nextUrl) {
  if (!nextUrl) return null;
  try {
    return new URL(nextUrl, "http://x").searchParams.get("_cursor");
  } catch {
    return null;
  }
}

/** Clicking a column header: ascending, then descending, then no sort on it (the default order). */
export function toggleSort(state, field) {
  const current = state.sort.find((s) => s.field === field);
  let sort;
  if (!current) sort = [{ field, desc: false }];
  else if (!current.desc) sort = [{ field, desc: true }];
  else sort = [];
  return { ...state, sort };
}

/** aria-sort value of a column under a state. */
export function ariaSort(state, field) {
  const key = state.sort[0];
  if (!key || key.field !== field) return "none";
  return key.desc ? "descending" : "ascending";
}

/** The value of a dotted path in a record: `id`/`last_modified` are the record's own members. */
export function valueAt(record, path) {
  if (path === "id" || path === "last_modified") return record[path];
  let value = record.data;
  for (const key of path.split(".")) {
    if (value === null || typeof value !== "object" || Array.isArray(value) || !(key in value)) return undefined;
    value = value[key];
  }
  return value;
}

/**
 * Dotted paths worth a column: the schema's properties (one nested level), then the members the
 * records hold, in order of appearance, up to `max`.
 */
export function knownFields(schema, records = [], max = 40) {
  const out = [];
  const add = (path) => {
    if (!out.includes(path) && out.length < max) out.push(path);
  };
  const props = schema && typeof schema === "object" ? schema.properties : null;
  if (props && typeof props === "object") {
    for (const [name, sub] of Object.entries(props)) {
      if (sub && sub.type === "object" && sub.properties && typeof sub.properties === "object") {
        for (const inner of Object.keys(sub.properties)) add(`${name}.${inner}`);
      } else {
        add(name);
      }
    }
  }
  for (const record of records) {
    for (const [name, value] of Object.entries(record.data || {})) {
      if (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length <= 8) {
        for (const inner of Object.keys(value)) add(`${name}.${inner}`);
      } else {
        add(name);
      }
    }
  }
  return out;
}

/** The fields of the schema holding text (quick search candidates), else every known field. */
export function textFields(schema, fields) {
  const props = (schema && schema.properties) || {};
  const text = fields.filter((path) => {
    const [head, inner] = path.split(".");
    const sub = inner ? props[head]?.properties?.[inner] : props[head];
    return sub && (sub.type === "string" || (Array.isArray(sub.type) && sub.type.includes("string")));
  });
  return text.length ? text : fields;
}
