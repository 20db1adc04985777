// The files plugin's console page (/admin/plugins/files): the collections, and with
// ?collection=<id> that collection's attachment policy (limits, allowed types, thumbnails,
// schema), what applies and how many bytes its attachments use.
// Listed by config.add_admin_page in the plugin's includeme; the console calls render(root, ctx)
// and hands the shared components over as ctx.ui.
import { renderPolicy } from "./policy.js";

/** The console path of this page, with ?collection=<id> when given. */
export function pagePath(ctx, collection) {
  return `${ctx.config.base}plugins/files${collection ? `?collection=${encodeURIComponent(collection)}` : ""}`;
}

export async function render(root, ctx) {
  const cid = ctx.query.get("collection");
  if (cid) return renderPolicy(root, ctx, cid, pagePath);
  const { h, pageHeader, alertBox, clear } = ctx.ui.dom;
  ctx.setTitle("Files");
  const holder = h("div");
  clear(
    holder,
    ctx.ui.table.pagedTable({
      caption: "Collections and their attachment policies",
      empty: "No collection yet.",
      fetchPage: (next) => (next ? ctx.client.request("GET", next) : ctx.client.collections.list({ _limit: 50 })),
      onError: (error) => holder.append(alertBox("danger", error.detail || error.message)),
      columns: [
        { title: "Collection", render: (c) => h("a", { href: pagePath(ctx, c.id) }, c.id) },
        { title: "Title", render: (c) => c.title || "" },
        {
          title: "Policy",
          render: (c) =>
            h(
              "a",
              { class: "btn btn-sm btn-outline-secondary", href: pagePath(ctx, c.id), aria: { label: `Attachment policy of ${c.id}` } },
              ctx.ui.dom.icon("bi-sliders", "me-1"),
              "Attachment policy",
            ),
        },
      ],
    }),
  );
  root.append(
    pageHeader("Files"),
    h(
      "p",
      { class: "text-body-secondary" },
      "Records carry attachments. Each collection may narrow the instance's limits: the largest file, a quota, the media types allowed, thumbnail sizes and a schema of its records' attachments.",
    ),
    holder,
  );
  return undefined;
}
