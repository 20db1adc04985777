// Installed plugins (GET /api/v1/) with the capabilities each provides and its console pages.
import { h, pageHeader, link } from "../components/dom.js";
import { dataTable } from "../components/table.js";

export async function render(root, ctx) {
  ctx.setTitle("Plugins");
  const info = await ctx.client.root();
  const capabilities = Object.entries(info.capabilities || {});
  const pages = ctx.config.pages || [];
  root.append(
    pageHeader("Plugins"),
    h("p", { class: "text-body-secondary" }, `Benben ${info.benben?.version ?? ctx.config.version}. Plugins are Python packages installed next to Benben; `, h("code", {}, "benben plugins"), " lists them on the server."),
    dataTable({
      caption: "Installed plugins",
      captionVisible: false,
      empty: "No plugin is enabled.",
      rows: info.plugins || [],
      columns: [
        { title: "Name", render: (p) => h("strong", {}, p.name) },
        { title: "Version", render: (p) => p.version ?? "" },
        { title: "Description", render: (p) => p.description ?? "" },
        {
          title: "Provides",
          render: (p) =>
            h(
              "ul",
              { class: "list-unstyled mb-0" },
              capabilities.filter(([, c]) => c.provided_by === p.name).map(([name, c]) => h("li", {}, h("code", {}, name), ": ", c.description)),
              pages.filter((page) => page.plugin === p.name).map((page) => h("li", {}, "Console page: ", link(`${ctx.config.base}plugins/${encodeURIComponent(page.name)}`, page.title))),
            ),
        },
      ],
    }),
    h("h2", { class: "h5 mt-4" }, "Core capabilities"),
    h(
      "ul",
      {},
      capabilities.filter(([, c]) => c.provided_by === "core").map(([name, c]) => h("li", {}, h("code", {}, name), ": ", c.description)),
    ),
  );
}
