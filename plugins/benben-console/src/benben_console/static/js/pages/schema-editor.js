// The JSON Schema editor of a collection: a textarea with line numbers, the JSON parse error as
// one types (with its line and column), and, once the text parses, the API's dry run
// (`PATCH ...?dry_run=true`) saying whether the schema is valid and which existing records it
// would refuse. Nothing is stored until "Save schema".
import { h, clear, button, link, uid } from "../components/dom.js";
import * as api from "./data-api.js";

const CHECK_DELAY_MS = 600;

/** Line and column (1-based) of a character offset. */
export function lineColumn(text, offset) {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}

/** Parse the editor's text: {ok, value} or {ok: false, message, offset}. Empty text is no schema. */
export function parseSchemaText(text) {
  if (!text.trim()) return { ok: true, value: null };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    const match = /position (\d+)/.exec(error.message);
    return { ok: false, message: error.message, offset: match ? Number(match[1]) : null };
  }
}

/**
 * schemaEditor({client, collection, canEdit, onSaved(collection)}) -> element. The schema is
 * replaced with a JSON Patch `add /schema` (a merge patch would merge into the old schema).
 */
export function schemaEditor({ client, collection, canEdit = true, onSaved }) {
  const id = uid("schema");
  const statusId = `${id}-status`;
  const initial = collection.schema === null || collection.schema === undefined ? "" : JSON.stringify(collection.schema, null, 2);
  const gutter = h("pre", { class: "bb-gutter mb-0", aria: { hidden: "true" } });
  const textarea = h("textarea", {
    id,
    class: "form-control font-monospace bb-code",
    rows: 18,
    spellcheck: "false",
    autocomplete: "off",
    wrap: "off",
    readonly: !canEdit,
    aria: { describedby: statusId },
  });
  textarea.value = initial;
  const parseStatus = h("div", { id: statusId, class: "small mt-1", role: "status", aria: { live: "polite" } });
  const report = h("div", { class: "mt-2", aria: { live: "polite" } });
  const save = button("Save schema", { kind: "primary", size: "sm", iconName: "bi-save", disabled: !canEdit });
  const format = button("Format", { kind: "outline-secondary", size: "sm", iconName: "bi-text-indent-left" });

  const numberLines = () => {
    const count = textarea.value.split("\n").length;
    const lines = [];
    for (let i = 1; i <= count; i += 1) lines.push(String(i));
    gutter.textContent = lines.join("\n");
  };
  textarea.addEventListener("scroll", () => {
    gutter.scrollTop = textarea.scrollTop;
  });

  let timer = null;
  let generation = 0;
  const check = () => {
    numberLines();
    clearTimeout(timer);
    const parsed = parseSchemaText(textarea.value);
    textarea.classList.toggle("is-invalid", !parsed.ok);
    if (!parsed.ok) {
      const where = parsed.offset === null ? "" : (({ line, column }) => `Line ${line}, column ${column}: `)(lineColumn(textarea.value, parsed.offset));
      clear(parseStatus, h("span", { class: "text-danger" }, `${where}${parsed.message}`));
      clear(report);
      save.disabled = true;
      return;
    }
    clear(parseStatus, h("span", { class: "text-body-secondary" }, parsed.value === null ? "No schema: any JSON object is a valid record." : "Valid JSON."));
    save.disabled = !canEdit;
    if (!canEdit) return;
    const mine = ++generation;
    timer = setTimeout(async () => {
      clear(report, h("span", { class: "text-body-secondary small" }, "Checking against the existing records…"));
      try {
        const result = await api.schemaDryRun(client, collection.id, parsed.value);
        if (mine === generation) clear(report, dryRunReport(collection.id, result));
      } catch (error) {
        if (mine === generation) clear(report, schemaProblem(error));
      }
    }, CHECK_DELAY_MS);
  };
  textarea.addEventListener("input", check);

  format.addEventListener("click", () => {
    const parsed = parseSchemaText(textarea.value);
    if (parsed.ok && parsed.value !== null) {
      textarea.value = JSON.stringify(parsed.value, null, 2);
      check();
    }
  });

  save.addEventListener("click", async () => {
    const parsed = parseSchemaText(textarea.value);
    if (!parsed.ok) return;
    save.disabled = true;
    try {
      const updated = await api.setSchema(client, collection.id, parsed.value);
      clear(report, h("div", { class: "alert alert-success py-2 mb-0" }, "Schema saved. It applies to the next writes."));
      onSaved?.(updated);
    } catch (error) {
      clear(report, schemaProblem(error));
    } finally {
      save.disabled = false;
    }
  });

  numberLines();
  if (initial) check();
  return h(
    "div",
    { class: "bb-schema-editor" },
    h("label", { class: "form-label", for: id }, "JSON Schema (draft 2020-12); leave empty for none"),
    h("div", { class: "bb-code-wrap" }, gutter, textarea),
    parseStatus,
    h("div", { class: "d-flex gap-2 mt-2" }, save, format),
    report,
  );
}

/** The dry run's answer: valid, or the records the schema would refuse (linked). */
function dryRunReport(cid, result) {
  if (result.valid) {
    return h(
      "div",
      { class: "alert alert-success py-2 mb-0" },
      result.checked === 1 ? "The schema is valid, and the existing record passes it." : `The schema is valid, and all ${result.checked} existing records pass it.`,
    );
  }
  return h(
    "div",
    { class: "alert alert-warning py-2 mb-0" },
    h(
      "p",
      { class: "mb-1" },
      `The schema is valid, but ${result.failed} of ${result.checked} existing records would fail it`,
      result.truncated ? ` (the first ${result.failures.length} are listed)` : "",
      ". Existing records are kept; the schema applies to the next writes.",
    ),
    h(
      "ul",
      { class: "mb-0 small bb-dry-run-failures" },
      result.failures.map((f) =>
        h(
          "li",
          {},
          link(`/admin/collections/${encodeURIComponent(cid)}/records/${encodeURIComponent(f.id)}`, f.id),
          ": ",
          f.errors.map((e) => `${e.pointer.replace(/^\/data/, "") || "/"} ${e.message}`).join("; "),
        ),
      ),
    ),
  );
}

/** A refused schema: the errors point into it (/schema/properties/price/minimum). */
function schemaProblem(error) {
  const errors = error.errors || [];
  return h(
    "div",
    { class: "alert alert-danger py-2 mb-0" },
    h("strong", {}, errors.length ? "The schema is not valid." : error.title || "The check failed."),
    errors.length
      ? h("ul", { class: "mb-0 small" }, errors.map((e) => h("li", {}, h("code", {}, e.pointer || e.name || ""), " ", e.message)))
      : h("div", { class: "small" }, error.detail || error.message),
  );
}
