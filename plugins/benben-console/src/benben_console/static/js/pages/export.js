// Export of the records page's query (its filters and sort, every page, not just the one shown)
// as JSON or CSV: pages are fetched one after the other and their text appended to a list of
// chunks that becomes one Blob, downloaded through an object URL (no server-side export job).
import { h, button, clear } from "../components/dom.js";
import { valueAt } from "./data-query.js";
import * as api from "./data-api.js";

const EXPORT_PAGE = "1000"; // benben.data.max_page_size's default: the fewest round trips

/** A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
export function csvField(value) {
  let text;
  if (value === undefined || value === null) text = "";
  else if (typeof value === "string") text = value;
  else if (typeof value === "number" || typeof value === "boolean") text = String(value);
  else text = JSON.stringify(value);
  // A spreadsheet runs a cell starting with = + - @ as a formula (CSV injection): a leading
  // apostrophe keeps it text. Numbers are written as numbers (-3 stays -3).
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(values) {
  return `${values.map(csvField).join(",")}\r\n`;
}

function download(chunks, type, filename) {
  const url = URL.createObjectURL(new Blob(chunks, { type }));
  const a = h("a", { href: url, download: filename, class: "d-none" });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/**
 * exportControls({client, cid, params(), columns()}) -> element with "Export JSON" and "Export
 * CSV". params() gives the current query (URLSearchParams, no cursor); columns() the CSV's
 * columns (the table's), after id.
 */
export function exportControls({ client, cid, params, columns }) {
  const status = h("span", { class: "small text-body-secondary", role: "status", aria: { live: "polite" } });
  let running = false;
  const run = async (kind) => {
    if (running) return;
    running = true;
    const query = params();
    query.delete("_cursor");
    query.delete("_count");
    query.set("_limit", EXPORT_PAGE);
    const cols = columns();
    const chunks = kind === "csv" ? [csvLine(["id", ...cols, "last_modified"])] : ["["];
    let count = 0;
    try {
      for await (const records of api.recordPages(client, cid, query)) {
        for (const record of records) {
          if (kind === "csv") chunks.push(csvLine([record.id, ...cols.map((c) => valueAt(record, c)), record.last_modified]));
          else chunks.push(`${count ? "," : ""}\n${JSON.stringify(record)}`);
          count += 1;
        }
        status.textContent = `Exporting… ${count} records`;
      }
      if (kind === "json") chunks.push("\n]\n");
      const stamp = new Date().toISOString().slice(0, 19).replaceAll(":", "");
      download(chunks, kind === "csv" ? "text/csv;charset=utf-8" : "application/json", `${cid}-${stamp}.${kind}`);
      status.textContent = `Exported ${count} records.`;
    } catch (error) {
      clear(status, h("span", { class: "text-danger" }, `Export failed: ${error.detail || error.message}`));
    } finally {
      running = false;
    }
  };
  return h(
    "div",
    { class: "d-flex flex-wrap gap-2 align-items-center bb-export" },
    button("Export JSON", { kind: "outline-secondary", size: "sm", iconName: "bi-filetype-json", onclick: () => run("json") }),
    button("Export CSV", { kind: "outline-secondary", size: "sm", iconName: "bi-filetype-csv", onclick: () => run("csv") }),
    status,
  );
}
