// A collection's records: a table whose state (filters, sort, columns, page size) is the page's
// query string, the API's own query language (see data-query.js); cursor paging with a stack of
// cursors for "Previous"; the total from `_count`; bulk delete through one batch; export.
// Marks `records-api-answered` and `records-rendered` (and the measure `records-render` between
// them) so that the browser tests can time the rendering of a page.
import { h, clear, button, icon, link, pageHeader, alertBox, spinner, formatDate } from "../components/dom.js";
import { confirmDialog } from "../components/dialogs.js";
import { parseState, toSearch, apiParams, cursorOf, toggleSort, knownFields, textFields, PAGE_SIZES } from "./data-query.js";
import { recordsTable } from "./data-table.js";
import { filterBuilder, filterChips, quickSearch } from "./filters.js";
import { columnChooser } from "./data-columns.js";
import { exportControls } from "./export.js";
import * as api from "./data-api.js";

const DEFAULT_COLUMNS = 6;
const BATCH_SIZE = 100; // benben.data.batch_max_operations' default

export async function render(root, ctx) {
  const cid = ctx.params.cid;
  const base = `/admin/collections/${encodeURIComponent(cid)}`;
  root.append(spinner());
  let collection;
  try {
    collection = await api.getCollection(ctx.client, cid);
  } catch (error) {
    clear(
      root,
      h("h1", { class: "h3" }, error.status === 404 ? "Not found" : "This page could not be shown"),
      alertBox("danger", error.status === 404 ? `No collection “${cid}” that you may see.` : error.detail || error.message),
    );
    return undefined;
  }
  ctx.setTitle(`${collection.title || cid} · records`);

  let state = parseState(location.search);
  let cursors = [null]; // the cursor of each page up to the current one; the first page has none
  let nextCursor = null;
  let total = null;
  let records = [];
  let seen = [];
  const selection = new Set();

  const toolbar = h("div", { class: "d-flex flex-wrap gap-2 align-items-center mb-2" });
  const filtersSlot = h("div");
  const chipsSlot = h("div");
  const summary = h("div", { class: "d-flex flex-wrap gap-2 align-items-center justify-content-between mb-2" });
  const tableSlot = h("div", { class: "bb-records-table" });
  const pager = h("nav", { class: "d-flex gap-2 align-items-center mt-2", aria: { label: "Pages of records" } });
  const problem = h("div");

  clear(
    root,
    h(
      "nav",
      { aria: { label: "Breadcrumb" } },
      h(
        "ol",
        { class: "breadcrumb" },
        h("li", { class: "breadcrumb-item" }, link("/admin/collections", "Collections")),
        h("li", { class: "breadcrumb-item active", aria: { current: "page" } }, collection.title || cid),
      ),
    ),
    pageHeader(
      collection.title || cid,
      h("a", { class: "btn btn-primary", href: `${base}/new`, dataset: { route: "" } }, icon("bi-plus-lg", "me-1"), "New record"),
      h("a", { class: "btn btn-outline-secondary", href: base, dataset: { route: "" } }, icon("bi-gear", "me-1"), "Settings"),
      h("a", { class: "btn btn-outline-secondary", href: `${base}/history`, dataset: { route: "" } }, icon("bi-clock-history", "me-1"), "History"),
    ),
    toolbar,
    filtersSlot,
    chipsSlot,
    problem,
    summary,
    tableSlot,
    pager,
  );

  const fields = () => knownFields(collection.schema, seen);
  const columns = () => state.fields || fields().slice(0, DEFAULT_COLUMNS);

  // A new query: kept in the address bar (pushState: Back returns to the previous query).
  const commit = (next) => {
    state = next;
    const search = toSearch(state);
    const url = `${location.pathname}${search ? `?${search}` : ""}`;
    if (url !== `${location.pathname}${location.search}`) history.pushState(null, "", url);
    cursors = [null];
    total = null;
    selection.clear();
    drawControls();
    load();
  };

  const drawControls = () => {
    const known = fields();
    clear(
      toolbar,
      quickSearch({ fields: textFields(collection.schema, known), filters: state.filters, onSearch: (filters) => commit({ ...state, filters }) }),
      columnChooser({ fields: known, selected: columns(), onChange: (cols) => commit({ ...state, fields: cols }) }),
      pageSizeSelect(),
      exportControls({ client: ctx.client, cid, params: () => apiParams(state), columns }),
    );
    clear(filtersSlot, filterBuilder({ filters: state.filters, fields: known, onApply: (filters) => commit({ ...state, filters }) }));
    clear(chipsSlot, filterChips({ filters: state.filters, onRemove: (i) => commit({ ...state, filters: state.filters.filter((_, j) => j !== i) }) }));
  };

  const pageSizeSelect = () => {
    const select = h(
      "select",
      { id: "records-page-size", class: "form-select form-select-sm w-auto", onchange: (e) => commit({ ...state, limit: Number(e.target.value) }) },
      [...new Set([...PAGE_SIZES, state.limit])].sort((a, b) => a - b).map((n) => h("option", { value: n, selected: n === state.limit }, `${n} per page`)),
    );
    return h("div", {}, h("label", { class: "visually-hidden", for: "records-page-size" }, "Records per page"), select);
  };

  const drawSummary = () => {
    const page = cursors.length;
    const counted = total === null ? "" : `${total} record${total === 1 ? "" : "s"} match`;
    const remove = button(`Delete selected (${selection.size})`, { kind: "outline-danger", size: "sm", iconName: "bi-trash", disabled: selection.size === 0, onclick: bulkDelete });
    clear(summary, h("div", { role: "status", aria: { live: "polite" }, class: "small text-body-secondary" }, counted, counted ? " · " : "", `page ${page}`), remove);
  };

  const drawPager = () => {
    clear(
      pager,
      button("Previous", { kind: "outline-secondary", size: "sm", iconName: "bi-chevron-left", disabled: cursors.length <= 1, onclick: () => { cursors.pop(); load(); } }),
      button("Next", { kind: "outline-secondary", size: "sm", iconName: "bi-chevron-right", disabled: !nextCursor, onclick: () => { cursors.push(nextCursor); load(); } }),
    );
  };

  let generation = 0;
  const load = async () => {
    const mine = ++generation;
    const cursor = cursors[cursors.length - 1];
    clear(problem);
    performance.clearMarks("records-api-answered");
    performance.clearMarks("records-rendered");
    performance.clearMeasures("records-render");
    let page;
    try {
      page = await api.listRecords(ctx.client, cid, apiParams(state, { cursor, count: total === null }));
    } catch (error) {
      if (mine !== generation) return;
      clear(problem, alertBox("danger", h("strong", {}, error.title || "The query failed."), " ", error.detail || error.message));
      filtersSlot.firstChild?.showErrors?.(error);
      records = [];
      drawTable();
      return;
    }
    if (mine !== generation) return;
    performance.mark("records-api-answered");
    records = page.data;
    if (typeof page.total === "number") total = page.total;
    nextCursor = cursorOf(page.next);
    const before = fields().length;
    if (!seen.length) seen = records.slice(0, 50);
    drawTable();
    performance.mark("records-rendered");
    performance.measure("records-render", "records-api-answered", "records-rendered");
    // Fields learnt from the first records offer more columns and filters.
    if (fields().length !== before) drawControls();
  };

  const drawTable = () => {
    const table = recordsTable({
      caption: `Records of ${collection.title || cid}`,
      columns: columns(),
      state,
      onSort: (field) => commit(toggleSort(state, field)),
      selection,
      onSelect: drawSummary,
      recordHref: (rid) => `${base}/records/${encodeURIComponent(rid)}`,
      formatTime: formatDate,
    });
    table.setRows(records);
    clear(tableSlot, table.element, records.length ? null : h("p", { class: "text-body-secondary my-3" }, state.filters.length ? "No record matches these filters." : "No record yet."));
    drawSummary();
    drawPager();
  };

  const bulkDelete = async () => {
    const ids = [...selection];
    const ok = await confirmDialog("Delete records?", `Delete ${ids.length} record${ids.length === 1 ? "" : "s"}? Their history is kept.`, { confirmText: "Delete" });
    if (!ok) return;
    try {
      for (let i = 0; i < ids.length; i += BATCH_SIZE) await api.deleteRecords(ctx.client, cid, ids.slice(i, i + BATCH_SIZE));
      ctx.toast("success", `${ids.length} record${ids.length === 1 ? "" : "s"} deleted.`);
      selection.clear();
      total = null;
      load();
    } catch (error) {
      clear(problem, alertBox("danger", h("strong", {}, "Nothing was deleted. "), error.detail || error.message));
    }
  };

  // Back and Forward re-render the page (app.js listens to popstate): state comes from the URL.
  drawControls();
  await load();
  return undefined;
}
