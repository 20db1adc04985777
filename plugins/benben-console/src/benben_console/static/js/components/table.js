// Tables of API lists: a responsive Bootstrap table with a caption (screen readers), column headers
// with scope, an empty state, and a "Load more" button for cursor pages.
import { h, button } from "./dom.js";

/**
 * dataTable({caption, columns, rows, empty}) — columns: [{title, render(row) -> Node|string,
 * class}], rows: an array. The caption is visually hidden unless captionVisible.
 * Returns the wrapper; wrapper.tbody, wrapper.addRows(rows) append more rows.
 */
export function dataTable({ caption, columns, rows = [], empty = "Nothing here yet.", captionVisible = false }) {
  const tbody = h("tbody");
  const table = h(
    "table",
    { class: "table table-hover align-middle mb-0" },
    h("caption", { class: captionVisible ? "" : "visually-hidden" }, caption),
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.class }, c.title)))),
    tbody,
  );
  const emptyEl = h("p", { class: "text-body-secondary my-3" }, empty);
  // A region one can tab to: a table wider than the screen scrolls with the keyboard too.
  const wrapper = h("div", { class: "table-responsive", tabindex: 0, role: "region", aria: { label: caption } }, table, emptyEl);
  const addRows = (more) => {
    for (const row of more) {
      tbody.append(h("tr", {}, columns.map((c) => h("td", { class: c.class }, c.render(row)))));
    }
    emptyEl.hidden = tbody.children.length > 0;
  };
  addRows(rows);
  wrapper.tbody = tbody;
  wrapper.addRows = addRows;
  return wrapper;
}

/**
 * pagedTable({caption, columns, empty, fetchPage}) — fetchPage(cursorUrl|null) resolves to an API
 * list page {data, next}; the first page loads at once and a "Load more" button follows `next`.
 */
export function pagedTable({ caption, columns, empty, fetchPage, onError }) {
  const table = dataTable({ caption, columns, empty });
  const more = button("Load more", { kind: "outline-secondary", size: "sm", iconName: "bi-chevron-down" });
  more.hidden = true;
  let next = null;
  const load = async () => {
    more.disabled = true;
    try {
      const page = await fetchPage(next);
      table.addRows(page.data || []);
      next = page.next || null;
      more.hidden = !next;
    } catch (error) {
      if (onError) onError(error);
      else throw error;
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", load);
  const wrapper = h("div", {}, table, h("div", { class: "mt-2" }, more));
  wrapper.ready = load();
  wrapper.table = table;
  return wrapper;
}

/** A badge for a boolean: "yes"/"no" text, not color alone. */
export function yesNo(value, yes = "Yes", no = "No") {
  return h("span", { class: ["badge", value ? "text-bg-success" : "text-bg-secondary"] }, value ? yes : no);
}
