// The records page's filters: a builder offering every operator of the query language, the
// active filters as removable chips, and a quick search (`<text field>__contains="<text>"`).
// Values go to the API as written (JSON when they parse as JSON, else text), unless "as text" is
// ticked: the value is then sent JSON-quoted, so that `10` means the string "10".
import { h, clear, button, icon, uid } from "../components/dom.js";
import { OPERATORS, filterName, isKnownOperator } from "./data-query.js";

function quoted(value, row) {
  // `startswith` always takes text and `id` is always text: quotes would become part of the value.
  if (row.op === "startswith" || row.field === "id") return value;
  return JSON.stringify(value);
}

/**
 * filterBuilder({filters, fields, onApply(filters)}) -> element (a <details> panel). fields:
 * dotted paths offered in the field input's list. showErrors(problem) marks the rows the API
 * refused (errors[].name is the parameter).
 */
export function filterBuilder({ filters, fields, onApply }) {
  const listId = uid("fields");
  const datalist = h("datalist", { id: listId }, ["id", "last_modified", ...fields].map((f) => h("option", { value: f })));
  const rows = h("div", { class: "d-grid gap-2" });
  const error = h("div", { class: "text-danger small", role: "alert" });
  let editing = filters.map((f) => ({ ...f, text: false }));

  const rowEl = (row, index) => {
    const fieldId = uid("filter-field");
    const opId = uid("filter-op");
    const valueId = uid("filter-value");
    const textId = uid("filter-text");
    const fieldInput = h("input", { id: fieldId, class: "form-control form-control-sm", list: listId, value: row.field, required: true, autocomplete: "off", spellcheck: "false", oninput: (e) => (row.field = e.target.value.trim()) });
    const opSelect = h(
      "select",
      { id: opId, class: "form-select form-select-sm", onchange: (e) => { row.op = e.target.value; draw(); } },
      OPERATORS.map((o) => h("option", { value: o.op, selected: o.op === row.op }, o.label)),
      isKnownOperator(row.op) ? null : h("option", { value: row.op, selected: true }, row.op),
    );
    const hint = OPERATORS.find((o) => o.op === row.op)?.hint || "";
    let valueInput;
    if (row.op === "exists") {
      if (row.value !== "false") row.value = "true";
      valueInput = h("select", { id: valueId, class: "form-select form-select-sm", onchange: (e) => (row.value = e.target.value) }, h("option", { value: "true", selected: row.value === "true" }, "true"), h("option", { value: "false", selected: row.value === "false" }, "false"));
    } else {
      valueInput = h("input", { id: valueId, class: "form-control form-control-sm", value: row.value, placeholder: hint, autocomplete: "off", oninput: (e) => (row.value = e.target.value) });
    }
    return h(
      "div",
      { class: "row g-2 align-items-end bb-filter-row", dataset: { name: filterName(row) } },
      h("div", { class: "col-12 col-md-4" }, h("label", { class: "form-label small mb-0", for: fieldId }, `Filter ${index + 1}: field`), fieldInput),
      h("div", { class: "col-6 col-md-3" }, h("label", { class: "form-label small mb-0", for: opId }, "Operator"), opSelect),
      h("div", { class: "col-6 col-md-3" }, h("label", { class: "form-label small mb-0", for: valueId }, "Value"), valueInput),
      h(
        "div",
        { class: "col-12 col-md-2 d-flex gap-2 align-items-center" },
        row.op === "exists" || row.op === "startswith"
          ? null
          : h("div", { class: "form-check mb-0" }, h("input", { id: textId, type: "checkbox", class: "form-check-input", checked: row.text, onchange: (e) => (row.text = e.target.checked) }), h("label", { class: "form-check-label small", for: textId }, "as text")),
        h("button", { type: "button", class: "btn btn-sm btn-outline-danger ms-auto", aria: { label: `Remove filter ${index + 1}` }, onclick: () => { editing.splice(index, 1); draw(); } }, icon("bi-x-lg")),
      ),
    );
  };

  const draw = () => {
    clear(rows, editing.length ? editing.map(rowEl) : h("p", { class: "small text-body-secondary mb-0" }, "No filter: every record is listed."));
  };

  const apply = () => {
    const bad = editing.find((r) => !r.field);
    if (bad) {
      error.textContent = "Every filter needs a field.";
      return;
    }
    error.textContent = "";
    onApply(editing.map((r) => ({ field: r.field, op: r.op, value: r.text ? quoted(r.value, r) : r.value })));
  };

  draw();
  const panel = h(
    "details",
    { class: "bb-filters card card-body py-2 mb-3" },
    h("summary", { class: "fw-semibold" }, icon("bi-funnel", "me-1"), `Filters (${filters.length})`),
    h(
      "form",
      { class: "mt-2", onsubmit: (e) => { e.preventDefault(); apply(); } },
      datalist,
      rows,
      error,
      h(
        "div",
        { class: "d-flex gap-2 mt-2" },
        button("Add filter", { kind: "outline-secondary", size: "sm", iconName: "bi-plus", onclick: () => { editing.push({ field: "", op: "eq", value: "", text: false }); draw(); rows.querySelector(".bb-filter-row:last-child input")?.focus(); } }),
        button("Apply filters", { kind: "primary", size: "sm", type: "submit", iconName: "bi-check2" }),
      ),
    ),
  );
  panel.open = filters.length > 0;
  panel.showErrors = (problem) => {
    panel.open = true;
    const messages = (problem.errors || []).map((e) => `${e.name ? `${e.name}: ` : ""}${e.message}`);
    error.textContent = messages.join("; ") || problem.detail || problem.message;
    for (const e of problem.errors || []) {
      rows.querySelector(`[data-name="${CSS.escape(e.name || "")}"]`)?.classList.add("border", "border-danger", "rounded");
    }
  };
  return panel;
}

/** The active filters as chips, each removable. */
export function filterChips({ filters, onRemove }) {
  if (!filters.length) return null;
  const label = (f) => `${f.field} ${OPERATORS.find((o) => o.op === f.op)?.label || f.op} ${f.value}`;
  return h(
    "ul",
    { class: "list-unstyled d-flex flex-wrap gap-1 mb-2", aria: { label: "Active filters" } },
    filters.map((f, index) =>
      h(
        "li",
        { class: "badge rounded-pill text-bg-secondary d-inline-flex align-items-center gap-1 bb-chip" },
        h("span", {}, label(f)),
        h("button", { type: "button", class: "btn btn-sm btn-link p-0 text-reset", aria: { label: `Remove filter ${label(f)}` }, onclick: () => onRemove(index) }, icon("bi-x-lg")),
      ),
    ),
  );
}

/**
 * quickSearch({fields, filters, onSearch(filters)}) — a text search on one field: replaces that
 * field's `contains` filter (a string holding the text, case-sensitive as the API compares).
 */
export function quickSearch({ fields, filters, onSearch }) {
  const fieldId = uid("qs-field");
  const textId = uid("qs-text");
  const current = filters.find((f) => f.op === "contains" && fields.includes(f.field));
  let currentText = "";
  if (current) {
    try {
      currentText = String(JSON.parse(current.value));
    } catch {
      currentText = current.value;
    }
  }
  const select = h("select", { id: fieldId, class: "form-select form-select-sm bb-qs-field" }, fields.map((f) => h("option", { value: f, selected: current?.field === f }, f)));
  const input = h("input", { id: textId, type: "search", class: "form-control form-control-sm", value: currentText, placeholder: "Search…" });
  const form = h(
    "form",
    { class: "d-flex gap-1 align-items-center bb-quick-search", role: "search", onsubmit: (e) => {
      e.preventDefault();
      const field = select.value;
      const rest = filters.filter((f) => !(f.op === "contains" && f.field === field));
      const text = input.value;
      onSearch(text ? [...rest, { field, op: "contains", value: JSON.stringify(text) }] : rest);
    } },
    h("label", { class: "visually-hidden", for: fieldId }, "Search in field"),
    select,
    h("label", { class: "visually-hidden", for: textId }, "Text to search for"),
    input,
    button("", { kind: "outline-secondary", size: "sm", type: "submit", iconName: "bi-search", aria: { label: "Search" } }),
  );
  return fields.length ? form : null;
}
