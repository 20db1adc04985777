// History: who changed what, when, with a field-level diff of each change (added, removed,
// changed, by nested path). The collection's history is a page of its own; a record's is a tab
// of the record page, where each earlier version can be restored.
import { h, clear, button, icon, link, pageHeader, alertBox, formatDate, uid } from "../components/dom.js";
import { diff, showValue } from "./data-diff.js";
import * as api from "./data-api.js";

const KIND_CLASS = { added: "text-success", removed: "text-danger", changed: "text-warning-emphasis" };
const KIND_SIGN = { added: "+", removed: "−", changed: "~" };
const ACTION_CLASS = { create: "text-bg-success", update: "text-bg-primary", delete: "text-bg-danger" };

/** The diff of one entry as a list: "~ data.price 9 → 7". */
export function diffList(entry) {
  const lines = diff(entry.previous ?? undefined, entry.data ?? undefined);
  if (!lines.length) return h("p", { class: "small text-body-secondary mb-0" }, "No change in the values.");
  return h(
    "ul",
    { class: "list-unstyled mb-0 small font-monospace bb-diff" },
    lines.map((line) =>
      h(
        "li",
        { class: KIND_CLASS[line.kind], dataset: { kind: line.kind } },
        h("span", { aria: { hidden: "true" } }, `${KIND_SIGN[line.kind]} `),
        h("span", { class: "visually-hidden" }, `${line.kind}: `),
        h("span", { class: "fw-semibold" }, line.path),
        " ",
        line.kind === "changed" ? [h("del", {}, showValue(line.before)), " → ", h("ins", {}, showValue(line.after))] : showValue(line.kind === "added" ? line.after : line.before),
      ),
    ),
  );
}

/**
 * historyTimeline({client, cid, rid, currentVersion, onRestore(entry)}) -> element: entries newest
 * first with "Load more". With rid, only that record's; onRestore offers "Restore this version"
 * on its earlier versions.
 */
export function historyTimeline({ client, cid, rid = null, query = {}, currentVersion = null, onRestore = null }) {
  const list = h("ol", { class: "list-unstyled d-grid gap-2 mb-2 bb-history" });
  const more = button("Load more", { kind: "outline-secondary", size: "sm", iconName: "bi-chevron-down" });
  const status = h("div", { role: "status", aria: { live: "polite" } });
  more.hidden = true;
  let next = null;
  const params = { ...query, ...(rid ? { record_id: rid, resource: "record" } : {}) };

  const entryEl = (entry) => {
    const headingId = uid("entry");
    const who = h("span", {}, entry.user_id ? `user ${entry.user_id.slice(0, 8)}…` : "anonymous");
    if (entry.user_id) {
      api.userName(client, entry.user_id).then((name) => {
        if (name) who.textContent = name;
      });
    }
    const what =
      entry.resource === "record"
        ? ["record ", rid ? h("code", {}, entry.record_id) : link(`/admin/collections/${encodeURIComponent(cid)}/records/${encodeURIComponent(entry.record_id)}`, entry.record_id)]
        : "the collection";
    const canRestore = onRestore && entry.resource === "record" && entry.action !== "delete" && entry.data && entry.timestamp !== currentVersion;
    return h(
      "li",
      { class: "card", dataset: { entry: entry.id } },
      h(
        "div",
        { class: "card-body py-2" },
        h(
          "div",
          { class: "d-flex flex-wrap gap-2 align-items-center mb-1" },
          h("h2", { class: "h6 mb-0", id: headingId }, h("span", { class: ["badge", ACTION_CLASS[entry.action] || "text-bg-secondary", "me-1"] }, entry.action), what),
          h("span", { class: "small text-body-secondary" }, "by ", who, " · ", h("time", { datetime: new Date(entry.timestamp).toISOString() }, formatDate(entry.timestamp))),
          entry.timestamp === currentVersion ? h("span", { class: "badge text-bg-light border" }, "current version") : null,
          canRestore
            ? h("span", { class: "ms-auto" }, button("Restore this version", { kind: "outline-primary", size: "sm", iconName: "bi-arrow-counterclockwise", aria: { describedby: headingId }, onclick: () => onRestore(entry) }))
            : null,
        ),
        diffList(entry),
      ),
    );
  };

  const load = async () => {
    more.disabled = true;
    try {
      const page = await api.history(client, cid, { _limit: "20", ...params }, next);
      list.append(...page.data.map(entryEl));
      next = page.next;
      more.hidden = !next;
      if (!list.children.length) clear(status, h("p", { class: "text-body-secondary" }, "No change recorded (history is kept for a limited time)."));
    } catch (error) {
      clear(status, alertBox("danger", error.status === 403 ? "Only those who may read every record see the history." : error.detail || error.message));
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", load);
  const element = h("div", {}, status, list, more);
  element.ready = load();
  return element;
}

/** The collection's history page, with filters on action and resource. */
export async function render(root, ctx) {
  const cid = ctx.params.cid;
  const base = `/admin/collections/${encodeURIComponent(cid)}`;
  ctx.setTitle(`${cid} · history`);
  const search = new URLSearchParams(location.search);
  const query = {};
  for (const name of ["action", "resource", "record_id"]) if (search.get(name)) query[name] = search.get(name);
  const select = (name, label, options) => {
    const id = uid(`h-${name}`);
    return h(
      "div",
      {},
      h("label", { class: "form-label small mb-0", for: id }, label),
      h("select", { id, name, class: "form-select form-select-sm" }, [["", "any"], ...options].map(([v, t]) => h("option", { value: v, selected: (query[name] || "") === v }, t))),
    );
  };
  const recordId = uid("h-record");
  const form = h(
    "form",
    { class: "d-flex flex-wrap gap-2 align-items-end mb-3", role: "search", aria: { label: "Filter the history" } },
    select("action", "Action", [["create", "create"], ["update", "update"], ["delete", "delete"]]),
    select("resource", "Resource", [["record", "records"], ["collection", "the collection"]]),
    h("div", {}, h("label", { class: "form-label small mb-0", for: recordId }, "Record id"), h("input", { id: recordId, name: "record_id", class: "form-control form-control-sm", value: query.record_id || "" })),
    button("Filter", { kind: "primary", size: "sm", type: "submit", iconName: "bi-funnel" }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const el of form.elements) if (el.name && el.value) params.set(el.name, el.value);
    const qs = params.toString();
    ctx.navigate(`${base}/history${qs ? `?${qs}` : ""}`);
  });
  const timeline = historyTimeline({ client: ctx.client, cid, query });
  clear(
    root,
    h(
      "nav",
      { aria: { label: "Breadcrumb" } },
      h("ol", { class: "breadcrumb" }, h("li", { class: "breadcrumb-item" }, link("/admin/collections", "Collections")), h("li", { class: "breadcrumb-item" }, link(`${base}/records`, cid)), h("li", { class: "breadcrumb-item active", aria: { current: "page" } }, "History")),
    ),
    pageHeader(`History of ${cid}`, h("a", { class: "btn btn-outline-secondary", href: `${base}/records`, dataset: { route: "" } }, icon("bi-table", "me-1"), "Records")),
    form,
    timeline,
  );
  await timeline.ready;
}

