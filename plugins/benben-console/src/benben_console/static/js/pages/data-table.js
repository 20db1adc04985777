// The records table: sortable column headers (buttons, with aria-sort on the header cell), a
// checkbox per row, cells set with textContent (records are user data). Rows are built with plain
// createElement into a DocumentFragment and attached once: a page of 100 rows renders in a few
// milliseconds.
import { h, icon } from "../components/dom.js";
import { ariaSort, valueAt } from "./data-query.js";

const MAX_CELL = 80;

/** A cell's text and a class for its kind (numbers right-aligned, null and missing muted). */
export function cellText(value) {
  if (value === undefined) return ["", "bb-missing"];
  if (value === null) return ["null", "bb-null"];
  if (typeof value === "string") return [value.length > MAX_CELL ? `${value.slice(0, MAX_CELL - 1)}…` : value, ""];
  if (typeof value === "number") return [String(value), "text-end"];
  if (typeof value === "boolean") return [String(value), "bb-bool"];
  const json = JSON.stringify(value);
  return [json.length > MAX_CELL ? `${json.slice(0, MAX_CELL - 1)}…` : json, "font-monospace small"];
}

function sortIcon(direction) {
  if (direction === "ascending") return icon("bi-sort-up", "ms-1");
  if (direction === "descending") return icon("bi-sort-down", "ms-1");
  const unsorted = icon("bi-arrow-down-up", "ms-1");
  unsorted.classList.add("opacity-50");
  return unsorted;
}

/**
 * recordsTable({columns, state, onSort(field), selection: Set, onSelect(), recordHref(rid)})
 * -> {element, setRows(records)}. columns are dotted paths; id and last_modified are always shown.
 */
export function recordsTable({ caption, columns, state, onSort, selection, onSelect, recordHref, formatTime }) {
  const all = ["id", ...columns, "last_modified"];
  const selectAll = h("input", { type: "checkbox", class: "form-check-input", aria: { label: "Select every record of this page" } });
  const headers = all.map((path) => {
    const direction = ariaSort(state, path);
    const label = path === "last_modified" ? "Last modified" : path;
    return h(
      "th",
      { scope: "col", aria: { sort: direction }, dataset: { field: path } },
      h(
        "button",
        {
          type: "button",
          class: "btn btn-link btn-sm p-0 text-reset text-decoration-none fw-semibold text-nowrap",
          onclick: () => onSort(path),
          aria: { label: `Sort by ${label}` },
        },
        label,
        sortIcon(direction),
      ),
    );
  });
  const tbody = h("tbody");
  const table = h(
    "table",
    { class: "table table-hover table-sm align-middle mb-0 bb-records" },
    h("caption", { class: "visually-hidden" }, caption),
    h("thead", {}, h("tr", {}, h("th", { scope: "col", class: "bb-select" }, selectAll), headers)),
    tbody,
  );
  let rows = [];

  const syncSelectAll = () => {
    const onPage = rows.filter((r) => selection.has(r.id)).length;
    selectAll.checked = rows.length > 0 && onPage === rows.length;
    selectAll.indeterminate = onPage > 0 && onPage < rows.length;
  };
  selectAll.addEventListener("change", () => {
    for (const r of rows) {
      if (selectAll.checked) selection.add(r.id);
      else selection.delete(r.id);
    }
    for (const box of tbody.querySelectorAll("input[type=checkbox]")) box.checked = selectAll.checked;
    onSelect();
  });
  // One listener for every row's checkbox.
  tbody.addEventListener("change", (event) => {
    const box = event.target;
    if (!box.dataset.rid) return;
    if (box.checked) selection.add(box.dataset.rid);
    else selection.delete(box.dataset.rid);
    syncSelectAll();
    onSelect();
  });

  const setRows = (records) => {
    rows = records;
    const fragment = document.createDocumentFragment();
    for (const record of records) {
      const tr = document.createElement("tr");
      const boxCell = document.createElement("td");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.className = "form-check-input";
      box.dataset.rid = record.id;
      box.checked = selection.has(record.id);
      box.setAttribute("aria-label", `Select ${record.id}`);
      boxCell.append(box);
      tr.append(boxCell);
      const idCell = document.createElement("th");
      idCell.scope = "row";
      const a = document.createElement("a");
      a.href = recordHref(record.id);
      a.dataset.route = "";
      a.className = "font-monospace small";
      a.textContent = record.id;
      idCell.append(a);
      tr.append(idCell);
      for (const path of columns) {
        const td = document.createElement("td");
        const [text, cls] = cellText(valueAt(record, path));
        td.textContent = text;
        if (cls) td.className = cls;
        tr.append(td);
      }
      const time = document.createElement("td");
      time.className = "text-nowrap small";
      time.textContent = formatTime(record.last_modified);
      tr.append(time);
      fragment.append(tr);
    }
    tbody.replaceChildren(fragment);
    syncSelectAll();
  };
  // Focusable: a table wider than the screen scrolls with the keyboard too.
  return { element: h("div", { class: "table-responsive", tabindex: 0, role: "region", aria: { label: caption } }, table), setRows };
}
