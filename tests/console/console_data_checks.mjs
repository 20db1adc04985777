// The console's data pages' logic (URL state, diffs, CSV, the schema form's subset) under Node.
import assert from "node:assert/strict";
// Run by tests/console/test_console_data_modules.py, or alone: node tests/console/console_data_checks.mjs
const pages = new URL("../../plugins/benben-console/src/benben_console/static/js/pages", import.meta.url).href;
const q = await import(`${pages}/data-query.js`);
const { diff } = await import(`${pages}/data-diff.js`);
const { csvField, csvLine } = await import(`${pages}/export.js`);
const rf = await import(`${pages}/record-form.js`);
const { parseSchemaText, lineColumn } = await import(`${pages}/schema-editor.js`);

// The URL is the API's query: parsed and written back unchanged, cursors never kept.
const search = "price__ge=10&tags__contains=%22red%22&author.name=Ann&_sort=-price%2Ctitle&_fields=title%2Cprice&_limit=25";
const state = q.parseState(search);
assert.deepEqual(state.filters, [
  { field: "price", op: "ge", value: "10" },
  { field: "tags", op: "contains", value: '"red"' },
  { field: "author.name", op: "eq", value: "Ann" },
]);
assert.deepEqual(state.sort, [{ field: "price", desc: true }, { field: "title", desc: false }]);
assert.deepEqual(state.fields, ["title", "price"]);
assert.equal(state.limit, 25);
assert.equal(q.toSearch(state), search);
assert.equal(q.toSearch(q.parseState("_cursor=abc&_count=true&x=1")), "x=1");
const api = q.apiParams(state, { cursor: "c1", count: true });
assert.equal(api.get("_cursor"), "c1");
assert.equal(api.get("_count"), "true");
assert.equal(q.cursorOf("http://h/api/v1/collections/b/records?_limit=2&_cursor=xyz.1"), "xyz.1");
assert.equal(q.cursorOf(null), null);
assert.deepEqual(q.OPERATORS.map((o) => o.op), ["eq", "ne", "lt", "le", "gt", "ge", "in", "nin", "contains", "startswith", "exists"]);
// Sorting by a header: ascending, descending, back to the default order.
let s = q.toggleSort(q.parseState(""), "price");
assert.equal(q.toSearch(s), "_sort=price");
s = q.toggleSort(s, "price");
assert.equal(q.toSearch(s), "_sort=-price");
assert.equal(q.ariaSort(s, "price"), "descending");
assert.equal(q.toSearch(q.toggleSort(s, "price")), "");
assert.equal(q.valueAt({ id: "a", data: { author: { name: "Ann" } } }, "author.name"), "Ann");
assert.equal(q.valueAt({ id: "a", data: {} }, "id"), "a");
const schema = { properties: { title: { type: "string" }, author: { type: "object", properties: { name: { type: "string" } } } } };
assert.deepEqual(q.knownFields(schema, [{ data: { isbn: "1", title: "x" } }]), ["title", "author.name", "isbn"]);
assert.deepEqual(q.textFields(schema, ["title", "author.name", "isbn"]), ["title", "author.name"]);

// Field-level diffs: nested paths, array elements, additions leaf by leaf.
assert.deepEqual(diff({ data: { price: 9, tags: ["a"], a: { b: 1 } } }, { data: { price: 7, tags: ["a", "b"], a: {} } }), [
  { path: "data.price", kind: "changed", before: 9, after: 7 },
  { path: "data.tags[1]", kind: "added", after: "b" },
  { path: "data.a.b", kind: "removed", before: 1 },
]);
assert.deepEqual(diff(undefined, { data: { t: "x" }, permissions: {} }), [{ path: "data.t", kind: "added", after: "x" }]);
assert.deepEqual(diff({ x: 1 }, { x: 1 }), []);

// CSV: RFC 4180 quoting, JSON for containers, formulas kept as text.
assert.equal(csvField('say "hi", then\nbye'), '"say ""hi"", then\nbye"');
assert.equal(csvField(["a"]), '"[""a""]"');
assert.equal(csvField("=SUM(A1)"), "'=SUM(A1)");
assert.equal(csvField(-3), "-3");
assert.equal(csvField(null), "");
assert.equal(csvLine(["a", 1, true]), "a,1,true\r\n");

// The schema form's subset.
assert.equal(rf.formUnsupported(null) !== null, true);
assert.equal(rf.formUnsupported({ oneOf: [] }) !== null, true);
assert.equal(rf.formUnsupported({ type: "object", properties: { a: { type: "string" } } }), null);
assert.equal(rf.kindOf({ type: "string", enum: ["a", "b"] }), "enum");
assert.equal(rf.kindOf({ type: "integer", minimum: 0 }), "integer");
assert.equal(rf.kindOf({ type: "array", items: { type: "string" } }), "array");
assert.equal(rf.kindOf({ type: "array", items: { type: "object" } }), "json");
assert.equal(rf.kindOf({ type: "object", properties: { a: {} } }), "object");
assert.equal(rf.kindOf({ type: ["string", "null"] }), "json");

// The schema editor's parse errors say where.
assert.deepEqual(parseSchemaText("  "), { ok: true, value: null });
const bad = parseSchemaText('{\n  "type": "object",\n  "x" 1\n}');
assert.equal(bad.ok, false);
if (bad.offset !== null) assert.equal(lineColumn('{\n  "type": "object",\n  "x" 1\n}', bad.offset).line, 3);
console.log("ok");
