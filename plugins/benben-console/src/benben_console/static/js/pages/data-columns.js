// The records table's column chooser: the schema's properties and the members records hold, as
// checkboxes in a disclosure (a native <details>: keyboard and screen readers for free, no
// Bootstrap JS), plus any dotted path typed in. The choice becomes the query's `_fields`.
import { h, button, icon, uid } from "../components/dom.js";

export function columnChooser({ fields, selected, onChange }) {
  const chosen = new Set(selected);
  // The known fields in their order, then paths only the URL names: a column hidden and shown
  // again returns to its place, not to the end.
  const all = [...new Set([...fields, ...selected])];
  const otherId = uid("col-other");
  const other = h("input", { id: otherId, class: "form-control form-control-sm", placeholder: "author.name", autocomplete: "off", spellcheck: "false" });
  const boxes = all.map((path) => {
    const id = uid("col");
    return h(
      "div",
      { class: "form-check" },
      h("input", { id, type: "checkbox", class: "form-check-input", value: path, checked: chosen.has(path), onchange: (e) => (e.target.checked ? chosen.add(path) : chosen.delete(path)) }),
      h("label", { class: "form-check-label", for: id }, path),
    );
  });
  const apply = () => {
    const typed = other.value.trim();
    if (typed) chosen.add(typed);
    // Keep the order of the list (the schema's), typed paths last.
    const order = [...all, typed].filter((p) => p && chosen.has(p));
    onChange([...new Set(order)]);
  };
  return h(
    "details",
    { class: "bb-columns position-relative" },
    h("summary", { class: "btn btn-sm btn-outline-secondary" }, icon("bi-layout-three-columns", "me-1"), "Columns"),
    h(
      "div",
      { class: "card card-body position-absolute z-3 mt-1 shadow-sm bb-columns-panel" },
      h("fieldset", {}, h("legend", { class: "h6" }, "Columns shown"), boxes.length ? boxes : h("p", { class: "small text-body-secondary" }, "No known field yet.")),
      h("label", { class: "form-label small mt-2", for: otherId }, "Another field (dotted path)"),
      other,
      h("div", { class: "d-flex gap-2 mt-2" }, button("Apply", { kind: "primary", size: "sm", onclick: apply }), button("Default columns", { kind: "outline-secondary", size: "sm", onclick: () => onChange(null) })),
    ),
  );
}
