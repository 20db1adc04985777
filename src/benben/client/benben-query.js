// Query strings. Benben reads a record filter's value as JSON when it parses as JSON and as text
// otherwise (docs/data-queries.md), so the string "10" sent bare would match the number 10.
// recordQuery therefore sends JS values typed: strings JSON-quoted, numbers, booleans and null
// as JSON, arrays (for __in / __nin) as JSON arrays; the other lists take their values as text.

const TEXT_OPERATORS = new Set(["startswith"]);
const LIST_KEYS = new Set(["_sort", "_fields"]);

/** Query entries from an object, an array of [key, value] pairs, a URLSearchParams or a string. */
function entries(query) {
  if (query == null) return [];
  if (typeof query === "string") return [...new URLSearchParams(query)];
  if (query instanceof URLSearchParams) return [...query];
  if (Array.isArray(query)) return query;
  return Object.entries(query);
}

function reserved(key, value) {
  if (Array.isArray(value) && LIST_KEYS.has(key)) return value.join(",");
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

/** The value of filter `key` as Benben's records query language reads it. */
export function filterValue(key, value) {
  if (typeof value === "string") {
    const [field, operator] = splitOperator(key);
    // id is always text, startswith always takes text: quoting would become part of the value.
    if (field === "id" || TEXT_OPERATORS.has(operator)) return value;
    return JSON.stringify(value);
  }
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  return JSON.stringify(value);
}

function splitOperator(key) {
  const at = key.lastIndexOf("__");
  return at > 0 ? [key.slice(0, at), key.slice(at + 2)] : [key, "eq"];
}

/** URLSearchParams for a records list: `_`-parameters as given, filters typed (see above). */
export function recordQuery(query) {
  const params = new URLSearchParams();
  for (const [key, value] of entries(query)) {
    if (value === undefined) continue;
    if (query instanceof URLSearchParams || typeof query === "string") params.append(key, value);
    else params.append(key, key.startsWith("_") ? reserved(key, value) : filterValue(key, value));
  }
  return params;
}

/** URLSearchParams for every other list and endpoint: values as text. */
export function plainQuery(query) {
  const params = new URLSearchParams();
  for (const [key, value] of entries(query)) {
    if (value === undefined || value === null) continue;
    params.append(key, reserved(key, value));
  }
  return params;
}

/** The If-Match value for `what`: an ETag string, or a resource read by the client. */
export function etagOf(what) {
  if (what == null) return undefined;
  if (typeof what === "string") return what;
  if (typeof what === "number") return `"${what}"`;
  if (typeof what.etag === "string") return what.etag;
  // Records and collections: their ETag is their last_modified, quoted (docs/data-api.md).
  if (typeof what.last_modified === "number") return `"${what.last_modified}"`;
  throw new TypeError("ifMatch: an ETag string or a resource with an etag or last_modified");
}

/** Encodes each segment of a path (ids may hold characters that are special in URLs). */
export function path(strings, ...values) {
  let out = strings[0];
  values.forEach((value, i) => {
    out += encodeURIComponent(String(value)) + strings[i + 1];
  });
  return out;
}
