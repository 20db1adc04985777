// The webhooks plugin's console page (/admin/plugins/webhooks): the caller's endpoints
// (administrators: everyone's), and with ?endpoint=<id> one endpoint with its delivery log.
// Listed by config.add_admin_page in the plugin's includeme; the console calls render(root, ctx)
// and hands the shared components over as ctx.ui.
import { renderEndpoint } from "./endpoint.js";
import { chips, deleteEndpoint, endpointDialog, pagePath, sendTest, showSecret, stateBadge } from "./form.js";

export async function render(root, ctx) {
  const id = ctx.query.get("endpoint");
  if (id) return renderEndpoint(root, ctx, id);
  return renderList(root, ctx);
}

function actions(ctx, endpoint, reload) {
  const { h, button, icon } = ctx.ui.dom;
  const small = (text, iconName, kind, onclick) =>
    button("", { kind, size: "sm", iconName, title: text, aria: { label: `${text}: ${endpoint.url}` }, onclick });
  return h(
    "div",
    { class: "btn-group", role: "group", aria: { label: `Actions on ${endpoint.url}` } },
    h(
      "a",
      { class: "btn btn-sm btn-outline-primary", href: pagePath(ctx, { endpoint: endpoint.id }), title: "Delivery log", aria: { label: `Delivery log: ${endpoint.url}` } },
      icon("bi-list-check"),
    ),
    small("Edit", "bi-pencil", "outline-secondary", async () => {
      if (await endpointDialog(ctx, endpoint)) {
        ctx.toast("success", "Endpoint saved.");
        reload();
      }
    }),
    small("Send test", "bi-send", "outline-secondary", async () => {
      if (await sendTest(ctx, endpoint)) ctx.navigate(pagePath(ctx, { endpoint: endpoint.id }));
    }),
    small("Delete", "bi-trash", "outline-danger", async () => {
      if (await deleteEndpoint(ctx, endpoint)) reload();
    }),
  );
}

/** The owner's username (administrators see everyone's endpoints), looked up once per id. */
function ownerCell(ctx, id, owners) {
  const cell = ctx.ui.dom.h("span", { class: "bb-mono small" }, id);
  if (!owners.has(id)) owners.set(id, ctx.client.users.get(id).then((u) => u.username, () => null));
  owners.get(id).then((username) => {
    if (!username) return;
    cell.classList.remove("bb-mono");
    cell.replaceChildren(ctx.ui.dom.h("a", { href: `${ctx.config.base}users/${encodeURIComponent(id)}` }, username));
  });
  return cell;
}

async function renderList(root, ctx) {
  const { h, button, pageHeader, alertBox, clear } = ctx.ui.dom;
  ctx.setTitle("Webhooks");
  const holder = h("div");
  const load = () => {
    const columns = [
      {
        title: "URL",
        render: (e) =>
          h(
            "div",
            {},
            h("a", { href: pagePath(ctx, { endpoint: e.id }), class: "text-break" }, e.url),
            e.description ? h("div", { class: "small text-body-secondary" }, e.description) : null,
          ),
      },
      { title: "Event types", render: (e) => chips(ctx, e.event_types) },
      { title: "Collections", render: (e) => chips(ctx, e.collections) },
      { title: "State", render: (e) => stateBadge(ctx, e) },
    ];
    const owners = new Map();
    if (ctx.isAdmin) columns.push({ title: "Owner", render: (e) => ownerCell(ctx, e.owner, owners) });
    columns.push({ title: "Actions", render: (e) => actions(ctx, e, load) });
    clear(
      holder,
      ctx.ui.table.pagedTable({
        caption: "Webhook endpoints",
        empty: "No webhook endpoint yet: create one to have Benben POST events to a URL of yours.",
        fetchPage: (next) => (next ? ctx.client.request("GET", next) : ctx.client.webhooks.list({ _limit: 50 })),
        onError: (error) => holder.append(alertBox("danger", error.detail || error.message)),
        columns,
      }),
    );
  };
  const create = button("New endpoint", { iconName: "bi-plus-lg" });
  create.addEventListener("click", async () => {
    const endpoint = await endpointDialog(ctx);
    if (!endpoint) return;
    if (endpoint.secret) await showSecret(ctx, endpoint);
    load();
  });
  root.append(
    pageHeader("Webhooks", create),
    h(
      "p",
      { class: "text-body-secondary" },
      "Benben POSTs the events you subscribe to (records, collections, accounts) to your endpoints, signed as Standard Webhooks, and retries failed deliveries.",
    ),
    holder,
  );
  load();
  return undefined;
}
