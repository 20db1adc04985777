// One group: its description, its members (add by username, remove), deletion.
import { h, pageHeader, button, link, alertBox, clear } from "../components/dom.js";
import { field, formError, onSubmit } from "../components/forms.js";
import { confirmDialog } from "../components/dialogs.js";
import { pagedTable } from "../components/table.js";

export async function render(root, ctx) {
  const group = await ctx.client.groups.get(ctx.params.gid);
  const members = ctx.client.groups.members(group.id);
  ctx.setTitle(`Group ${group.name}`);
  const admin = ctx.isAdmin;

  const edit = h(
    "form",
    { class: "card card-body mb-4", aria: { labelledby: "group-edit-title" } },
    h("h2", { class: "h5", id: "group-edit-title" }, "Details"),
    formError(),
    field({ label: "Description", name: "description", type: "textarea", value: group.description || "", attrs: { readonly: !admin } }),
    admin ? h("div", {}, h("button", { type: "submit", class: "btn btn-primary" }, "Save")) : null,
  );
  onSubmit(edit, async (values) => {
    await ctx.client.groups.update(group.id, { description: values.description || null });
    ctx.toast("success", "Saved.");
  });

  const holder = h("div");
  const load = () =>
    clear(
      holder,
      pagedTable({
        caption: `Members of ${group.name}`,
        empty: "This group has no members.",
        fetchPage: (next) => (next ? ctx.client.request("GET", next) : members.list({ _limit: 50 })),
        onError: (error) => holder.append(alertBox("danger", error.message)),
        columns: [
          { title: "Username", render: (m) => (admin ? link(`${ctx.config.base}users/${encodeURIComponent(m.id ?? m.user_id)}`, m.username) : m.username) },
          { title: "Name", render: (m) => m.display_name || "" },
          {
            title: "Actions",
            render: (m) =>
              admin
                ? button("Remove", {
                    kind: "outline-danger",
                    size: "sm",
                    iconName: "bi-person-dash",
                    aria: { label: `Remove ${m.username} from ${group.name}` },
                    onclick: async () => {
                      if (!(await confirmDialog("Remove member", `Remove ${m.username} from ${group.name}?`, { confirmText: "Remove" }))) return;
                      try {
                        await members.remove(m.id ?? m.user_id);
                        ctx.toast("success", `${m.username} removed.`);
                        load();
                      } catch (error) {
                        ctx.toast("danger", error.message);
                      }
                    },
                  })
                : "",
          },
        ],
      }),
    );

  const add = h(
    "form",
    { class: "row g-2 align-items-end mb-3", aria: { label: "Add a member" } },
    h("div", { class: "col-sm-6 col-lg-4" }, formError(), field({ label: "Add a member (username)", name: "username", required: true, attrs: { autocomplete: "off", autocapitalize: "none" } })),
    h("div", { class: "col-auto mb-3" }, h("button", { type: "submit", class: "btn btn-outline-primary" }, "Add")),
  );
  onSubmit(add, async (values) => {
    await members.add({ username: values.username.trim() });
    add.reset();
    ctx.toast("success", `${values.username} added.`);
    load();
  });

  const actions = admin
    ? [
        button("Delete group", {
          kind: "outline-danger",
          iconName: "bi-trash",
          onclick: async () => {
            if (!(await confirmDialog("Delete group", `Delete ${group.name}? Permissions granted to group:${group.name} stop applying.`, { confirmText: "Delete" }))) return;
            try {
              await ctx.client.groups.delete(group.id);
              ctx.toast("success", `Group ${group.name} deleted.`);
              ctx.navigate(`${ctx.config.base}groups`);
            } catch (error) {
              ctx.toast("danger", error.message);
            }
          },
        }),
      ]
    : [];
  root.append(
    pageHeader(`Group ${group.name}`, ...actions),
    edit,
    h("section", { aria: { labelledby: "members-title" } }, h("h2", { class: "h5", id: "members-title" }, "Members"), admin ? add : null, holder),
  );
  load();
}
