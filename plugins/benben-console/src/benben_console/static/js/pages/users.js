// Users (administrators): the list, and a dialog creating one.
import { h, pageHeader, button, link, formatDate, alertBox, clear } from "../components/dom.js";
import { field } from "../components/forms.js";
import { formDialog } from "../components/dialogs.js";
import { pagedTable, yesNo } from "../components/table.js";

export function userFields(values = {}, { creating = false } = {}) {
  return [
    creating ? field({ label: "Username", name: "username", required: true, help: "Lowercase letters, digits, '.', '_' or '-'.", attrs: { autocomplete: "off", autocapitalize: "none" } }) : null,
    field({ label: "Display name", name: "display_name", value: values.display_name ?? "" }),
    field({ label: "Email", name: "email", type: "email", value: values.email ?? "", attrs: { autocomplete: "off" } }),
    creating ? field({ label: "Password", name: "password", type: "password", required: true, attrs: { autocomplete: "new-password" } }) : null,
    field({ label: "Administrator", name: "is_admin", type: "switch", value: creating ? false : (values.roles || []).includes("admin") }),
    field({ label: "Active (may log in)", name: "is_active", type: "switch", value: creating ? true : values.is_active }),
  ].filter(Boolean);
}

/** The form's values as the API's body: empty optional strings become null. */
export function userBody(values) {
  const body = { ...values };
  for (const key of ["email", "display_name"]) if (body[key] === "") body[key] = null;
  return body;
}

export async function render(root, ctx) {
  ctx.setTitle("Users");
  const holder = h("div");
  const search = h("input", { type: "search", class: "form-control", id: "user-search", placeholder: "Username starts with…" });
  const load = () => {
    const query = { _limit: 50, _sort: "username" };
    const text = search.value.trim();
    if (text) query.username__startswith = text;
    clear(
      holder,
      pagedTable({
        caption: "Users",
        empty: text ? "No user matches." : "No users.",
        fetchPage: (next) => (next ? ctx.client.request("GET", next) : ctx.client.users.list(query)),
        onError: (error) => holder.append(alertBox("danger", error.message)),
        columns: [
          { title: "Username", render: (u) => link(`${ctx.config.base}users/${encodeURIComponent(u.id)}`, u.username) },
          { title: "Name", render: (u) => u.display_name || "" },
          { title: "Email", render: (u) => u.email || "" },
          { title: "Admin", render: (u) => yesNo((u.roles || []).includes("admin")) },
          { title: "Active", render: (u) => yesNo(u.is_active) },
          { title: "Last login", render: (u) => formatDate(u.last_login_at) || "Never" },
        ],
      }),
    );
  };
  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(load, 300);
  });
  const create = button("New user", { iconName: "bi-person-plus" });
  create.addEventListener("click", async () => {
    const user = await formDialog({
      title: "New user",
      submitText: "Create",
      fields: userFields({}, { creating: true }),
      onSubmit: (values) => ctx.client.users.create(userBody(values)),
    });
    if (user?.id) {
      ctx.toast("success", `User ${user.username} created.`);
      ctx.navigate(`${ctx.config.base}users/${encodeURIComponent(user.id)}`);
    }
  });
  root.append(
    pageHeader("Users", create),
    h("div", { class: "mb-3 col-md-6" }, h("label", { class: "form-label", for: "user-search" }, "Search"), search),
    holder,
  );
  load();
  return () => clearTimeout(timer);
}
