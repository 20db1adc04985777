// Groups (administrators): the list and a dialog creating one. Principals `group:<name>` in
// collections' and records' permissions refer to these.
import { h, pageHeader, button, link, alertBox, clear } from "../components/dom.js";
import { field } from "../components/forms.js";
import { formDialog } from "../components/dialogs.js";
import { pagedTable } from "../components/table.js";

export async function render(root, ctx) {
  ctx.setTitle("Groups");
  const holder = h("div");
  const load = () =>
    clear(
      holder,
      pagedTable({
        caption: "Groups",
        empty: "No groups yet.",
        fetchPage: (next) => (next ? ctx.client.request("GET", next) : ctx.client.groups.list({ _limit: 50 })),
        onError: (error) => holder.append(alertBox("danger", error.message)),
        columns: [
          { title: "Name", render: (g) => link(`${ctx.config.base}groups/${encodeURIComponent(g.name)}`, g.name) },
          { title: "Description", render: (g) => g.description || "" },
          { title: "Members", class: "text-end", render: (g) => String(g.member_count ?? "") },
        ],
      }),
    );
  const create = button("New group", { iconName: "bi-plus-lg" });
  create.addEventListener("click", async () => {
    const group = await formDialog({
      title: "New group",
      submitText: "Create",
      fields: [
        field({ label: "Name", name: "name", required: true, help: "Lowercase letters, digits, '.', '_' or '-'; used as group:<name> in permissions." }),
        field({ label: "Description", name: "description", type: "textarea" }),
      ],
      onSubmit: (values) => ctx.client.groups.create(values),
    });
    if (group?.name) {
      ctx.toast("success", `Group ${group.name} created.`);
      ctx.navigate(`${ctx.config.base}groups/${encodeURIComponent(group.name)}`);
    }
  });
  root.append(pageHeader("Groups", create), holder);
  load();
}
