// A readable field-level diff of two JSON values (a history entry's `previous` and `data`): one
// line per leaf that was added, removed or changed, named by its path (`data.author.name`,
// `data.tags[2]`). Arrays of scalars that only grew or shrank at the end read as additions or
// removals of those elements; other array changes are per index.

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function sameJson(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((v, i) => sameJson(v, b[i]));
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => k in b && sameJson(a[k], b[k]));
}

function join(path, key) {
  if (typeof key === "number") return `${path}[${key}]`;
  const safe = /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
  return path ? `${path}.${safe}` : safe;
}

/**
 * diff(before, after) -> [{path, kind: "added" | "removed" | "changed", before, after}], in
 * document order. Containers are walked into; a container replaced by a scalar (or the reverse)
 * is one "changed" entry.
 */
export function diff(before, after, path = "") {
  const out = [];
  walk(before, after, path, out);
  return out;
}

function walk(before, after, path, out) {
  if (sameJson(before, after)) return;
  // A member added or removed whole reads better leaf by leaf (a created record's fields).
  if (before === undefined && isObject(after) && Object.keys(after).length) return walk({}, after, path, out);
  if (after === undefined && isObject(before) && Object.keys(before).length) return walk(before, {}, path, out);
  if ((before === undefined && isObject(after)) || (after === undefined && isObject(before))) return undefined; // {}: nothing
  if (before === undefined) {
    out.push({ path, kind: "added", after });
  } else if (after === undefined) {
    out.push({ path, kind: "removed", before });
  } else if (isObject(before) && isObject(after)) {
    const keys = [...Object.keys(before), ...Object.keys(after).filter((k) => !(k in before))];
    for (const key of keys) walk(before[key], after[key], join(path, key), out);
  } else if (Array.isArray(before) && Array.isArray(after)) {
    const length = Math.max(before.length, after.length);
    for (let i = 0; i < length; i += 1) walk(before[i], after[i], join(path, i), out);
  } else {
    out.push({ path: path || "(whole value)", kind: "changed", before, after });
  }
}

/** A value shown in a diff line: strings quoted as JSON so that "" and " " are visible. */
export function showValue(value) {
  if (value === undefined) return "";
  const text = JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}
