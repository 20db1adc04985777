// One webhook endpoint (?endpoint=<id>): its settings and actions (edit, send a test, rotate the
// secret, delete) and its delivery log, filtered by status, with each delivery's attempts and
// payload and a redelivery of one delivery or of everything since a moment.
import { chips, deleteEndpoint, endpointDialog, pagePath, sendTest, showSecret, stateBadge } from "./form.js";

const STATUSES = [
  ["", "Any status"],
  ["pending", "Pending"],
  ["succeeded", "Succeeded"],
  ["failed", "Failed"],
  ["skipped", "Skipped"],
];
const STATUS_BADGES = { succeeded: "text-bg-success", failed: "text-bg-danger", pending: "text-bg-warning", skipped: "text-bg-secondary" };

function statusBadge(ctx, status) {
  return ctx.ui.dom.h("span", { class: ["badge", STATUS_BADGES[status] || "text-bg-secondary"] }, status);
}

/** The last answer: its HTTP status, or the error (DNS, refused, timeout...) when none came. */
function outcome(ctx, d) {
  const { h } = ctx.ui.dom;
  if (d.last_status_code !== null && d.last_status_code !== undefined) {
    return h("span", {}, String(d.last_status_code), d.latency_ms !== null ? h("span", { class: "text-body-secondary small" }, ` · ${d.latency_ms} ms`) : null);
  }
  if (d.last_error) return h("span", { class: "small text-break" }, d.last_error);
  return h("span", { class: "text-body-secondary" }, d.attempts ? "No answer" : "Not sent yet");
}

function definitions(ctx, pairs) {
  const { h } = ctx.ui.dom;
  return h(
    "dl",
    { class: "row mb-0" },
    pairs.filter(Boolean).map(([term, value]) => [h("dt", { class: "col-sm-4 col-lg-3" }, term), h("dd", { class: "col-sm-8 col-lg-9" }, value)]),
  );
}

async function showDelivery(ctx, endpoint, deliveryId) {
  const { h, formatDate, alertBox } = ctx.ui.dom;
  let d;
  try {
    d = await ctx.client.webhooks.delivery(endpoint.id, deliveryId);
  } catch (error) {
    ctx.toast("danger", error.detail || error.message);
    return;
  }
  const attempts = ctx.ui.table.dataTable({
    caption: "Attempts, oldest first",
    captionVisible: true,
    empty: "No attempt yet.",
    rows: d.attempt_log || [],
    columns: [
      { title: "Time", render: (a) => formatDate(a.attempted_at) },
      { title: "Result", render: (a) => statusBadge(ctx, a.succeeded ? "succeeded" : "failed") },
      { title: "Status code", render: (a) => (a.status_code === null ? "" : String(a.status_code)) },
      { title: "Latency", render: (a) => `${a.latency_ms} ms` },
      { title: "Error or response", render: (a) => h("span", { class: "small text-break bb-mono" }, a.error || a.response_body || "") },
    ],
  });
  ctx.ui.dialogs.openDialog({
    title: `Delivery of ${d.event_type}`,
    size: "lg",
    body: [
      definitions(ctx, [
        ["Status", statusBadge(ctx, d.status)],
        ["Message id (webhook-id)", h("code", {}, d.message_id)],
        d.event ? ["Event (feed position)", h("code", {}, d.event)] : null,
        ["Created", formatDate(d.created_at)],
        ["Attempts", String(d.attempts)],
        d.status === "pending" ? ["Next attempt", formatDate(d.next_attempt_at)] : null,
      ]),
      h("div", { class: "mt-3" }, attempts),
      d.attempts > (d.attempt_log || []).length ? alertBox("info", "Only the latest attempts are kept in detail.") : null,
      h("h3", { class: "h6 mt-3" }, "Payload"),
      h("pre", { class: "bb-json", tabindex: "0", aria: { label: "Payload (JSON)" } }, JSON.stringify(d.payload, null, 2)),
    ],
    actions: [{ text: "Close", kind: "secondary", value: true }],
  });
}

function deliveryLog(ctx, endpoint) {
  const { h, button, clear, alertBox, formatDate, uid } = ctx.ui.dom;
  const { field } = ctx.ui.forms;
  const holder = h("div");
  const status = field({ label: "Status", name: "status", type: "select", options: STATUSES, value: ctx.query.get("status") || "" });
  status.classList.replace("mb-3", "mb-0");
  const refresh = button("Refresh", { kind: "outline-secondary", iconName: "bi-arrow-clockwise" });
  const load = () => {
    const query = { _limit: 25 };
    if (status.input.value) query.status = status.input.value;
    clear(
      holder,
      ctx.ui.table.pagedTable({
        caption: `Deliveries to ${endpoint.url}, newest first`,
        empty: status.input.value ? "No delivery in this state." : "No delivery yet. Send a test event to try the endpoint.",
        fetchPage: (next) => (next ? ctx.client.request("GET", next) : ctx.client.webhooks.deliveries(endpoint.id, query)),
        onError: (error) => holder.append(alertBox("danger", error.detail || error.message)),
        columns: [
          { title: "Time", render: (d) => formatDate(d.created_at) },
          { title: "Event", render: (d) => h("code", {}, d.event_type) },
          { title: "Status", render: (d) => statusBadge(ctx, d.status) },
          { title: "Attempts", render: (d) => String(d.attempts) },
          { title: "Response", render: (d) => outcome(ctx, d) },
          {
            title: "Actions",
            render: (d) =>
              h(
                "div",
                { class: "d-flex flex-wrap gap-1" },
                button("Details", { kind: "outline-secondary", size: "sm", aria: { label: `Details of the ${d.event_type} delivery of ${formatDate(d.created_at)}` }, onclick: () => showDelivery(ctx, endpoint, d.id) }),
                button("Redeliver", {
                  kind: "outline-primary",
                  size: "sm",
                  iconName: "bi-arrow-repeat",
                  aria: { label: `Redeliver the ${d.event_type} delivery of ${formatDate(d.created_at)}` },
                  onclick: async () => {
                    try {
                      await ctx.client.webhooks.redeliver(endpoint.id, d.id);
                      ctx.toast("success", "Delivery queued again.");
                      load();
                    } catch (error) {
                      ctx.toast("danger", error.detail || error.message);
                    }
                  },
                }),
              ),
          },
        ],
      }),
    );
  };
  status.input.addEventListener("change", () => {
    ctx.setQuery({ endpoint: endpoint.id, ...(status.input.value ? { status: status.input.value } : {}) });
    load();
  });
  refresh.addEventListener("click", load);
  const sinceId = uid("redeliver-since");
  const since = h("input", { id: sinceId, type: "datetime-local", class: "form-control", required: true, step: "1" });
  const sinceForm = h(
    "form",
    { class: "d-flex flex-wrap align-items-end gap-2 mt-3" },
    h("div", {}, h("label", { class: "form-label", for: sinceId }, "Redeliver everything since"), since),
    button("Redeliver", { kind: "outline-primary", type: "submit", iconName: "bi-arrow-repeat" }),
  );
  sinceForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const moment = new Date(since.value);
    if (!since.value || Number.isNaN(moment.getTime())) {
      since.focus();
      return;
    }
    try {
      const answer = await ctx.client.webhooks.redeliver(endpoint.id, { since: moment.toISOString() });
      ctx.toast("success", `${answer.redelivered} deliveries queued again.`);
      load();
    } catch (error) {
      ctx.toast("danger", error.detail || error.message);
    }
  });
  load();
  return {
    element: h(
      "section",
      { aria: { labelledby: "deliveries-heading" }, class: "mt-4" },
      h("div", { class: "d-flex flex-wrap align-items-end justify-content-between gap-2 mb-2" }, h("h2", { class: "h5 mb-0", id: "deliveries-heading" }, "Delivery log"), h("div", { class: "d-flex align-items-end gap-2" }, status, refresh)),
      holder,
      sinceForm,
    ),
    reload: load,
  };
}

export async function renderEndpoint(root, ctx, id) {
  const { h, button, pageHeader, clear, formatDate } = ctx.ui.dom;
  let endpoint = await ctx.client.webhooks.get(id);
  ctx.setTitle(`Webhook ${endpoint.url}`);
  const summary = h("div", { class: "card card-body" });
  const paint = () =>
    clear(
      summary,
      definitions(ctx, [
        ["URL", h("span", { class: "text-break bb-mono" }, endpoint.url)],
        endpoint.description ? ["Description", endpoint.description] : null,
        ["State", stateBadge(ctx, endpoint)],
        ["Event types", chips(ctx, endpoint.event_types)],
        ["Collections", chips(ctx, endpoint.collections)],
        ["In flight at most", String(endpoint.max_in_flight)],
        endpoint.previous_secret_expires_at ? ["Previous secret valid until", formatDate(endpoint.previous_secret_expires_at)] : null,
        ["Created", formatDate(endpoint.created_at)],
        ["Updated", formatDate(endpoint.updated_at)],
      ]),
    );
  paint();
  const log = deliveryLog(ctx, endpoint);
  const edit = button("Edit", { kind: "outline-secondary", iconName: "bi-pencil" });
  edit.addEventListener("click", async () => {
    const saved = await endpointDialog(ctx, endpoint);
    if (!saved) return;
    endpoint = saved;
    ctx.toast("success", "Endpoint saved.");
    paint();
  });
  const test = button("Send test", { kind: "outline-primary", iconName: "bi-send" });
  test.addEventListener("click", async () => {
    if (await sendTest(ctx, endpoint)) log.reload();
  });
  const rotate = button("Rotate secret", { kind: "outline-secondary", iconName: "bi-key" });
  rotate.addEventListener("click", async () => {
    const ok = await ctx.ui.dialogs.confirmDialog(
      "Rotate the signing secret",
      "Make a new signing secret? The current one keeps signing for a while (the overlap the instance allows), so that the receiver can switch.",
      { confirmText: "Rotate", kind: "primary" },
    );
    if (!ok) return;
    try {
      const rotated = await ctx.client.webhooks.rotate(endpoint.id);
      await showSecret(ctx, rotated, { rotated: true });
      const { secret: _secret, ...rest } = rotated;
      endpoint = rest;
      paint();
    } catch (error) {
      ctx.toast("danger", error.detail || error.message);
    }
  });
  const remove = button("Delete", { kind: "outline-danger", iconName: "bi-trash" });
  remove.addEventListener("click", async () => {
    if (await deleteEndpoint(ctx, endpoint)) ctx.navigate(pagePath(ctx));
  });
  root.append(
    h("nav", { aria: { label: "Breadcrumb" } }, h("ol", { class: "breadcrumb" }, h("li", { class: "breadcrumb-item" }, h("a", { href: pagePath(ctx) }, "Webhooks")), h("li", { class: "breadcrumb-item active", aria: { current: "page" } }, "Endpoint"))),
    pageHeader("Webhook endpoint", test, edit, rotate, remove),
    summary,
    log.element,
  );
  return undefined;
}
