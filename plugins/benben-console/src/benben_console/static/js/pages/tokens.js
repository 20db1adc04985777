// Personal API tokens: list, create (the secret is shown once, with a copy button), revoke.
import { h, pageHeader, button, formatDate, clear, alertBox } from "../components/dom.js";
import { field } from "../components/forms.js";
import { confirmDialog, formDialog, openDialog } from "../components/dialogs.js";
import { pagedTable } from "../components/table.js";

const EXPIRIES = [
  ["2592000", "30 days"],
  ["7776000", "90 days"],
  ["31536000", "1 year"],
  ["", "Never"],
];

function status(token) {
  if (token.revoked_at) return h("span", { class: "badge text-bg-secondary" }, "Revoked");
  if (token.expires_at && new Date(token.expires_at) < new Date()) return h("span", { class: "badge text-bg-warning" }, "Expired");
  return h("span", { class: "badge text-bg-success" }, "Active");
}

function showSecret(token) {
  const copy = button("Copy", { kind: "outline-secondary", size: "sm", iconName: "bi-clipboard" });
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(token.token);
      copy.textContent = "Copied";
    } catch {
      copy.textContent = "Select and copy by hand";
    }
  });
  return openDialog({
    title: `Token “${token.name}” created`,
    body: [
      alertBox("warning", "Copy the token now: it is shown only this once. Benben keeps only its digest."),
      h("label", { class: "form-label", for: "new-token-secret" }, "Token"),
      h("div", { class: "input-group mb-2" }, h("input", { id: "new-token-secret", class: "form-control bb-mono", readonly: true, value: token.token }), copy),
      h("p", { class: "small text-body-secondary mb-0" }, "Send it as ", h("code", {}, "Authorization: Bearer <token>"), "."),
    ],
    actions: [{ text: "Done", kind: "primary", value: true }],
  }).closed;
}

export async function render(root, ctx) {
  ctx.setTitle("My API tokens");
  const holder = h("div");
  const load = () => {
    const table = pagedTable({
      caption: "Your API tokens",
      empty: "You have no API tokens.",
      fetchPage: (next) => (next ? ctx.client.request("GET", next) : ctx.client.tokens.list({ _limit: 50 })),
      onError: (error) => holder.append(alertBox("danger", error.message)),
      columns: [
        { title: "Name", render: (t) => h("strong", {}, t.name) },
        { title: "Scopes", render: (t) => (t.scopes || []).join(", ") },
        { title: "Created", render: (t) => formatDate(t.created_at) },
        { title: "Expires", render: (t) => (t.expires_at ? formatDate(t.expires_at) : "Never") },
        { title: "Last used", render: (t) => formatDate(t.last_used_at) || "Never" },
        { title: "Status", render: status },
        {
          title: "Actions",
          render: (t) =>
            t.revoked_at
              ? ""
              : button("Revoke", {
                  kind: "outline-danger",
                  size: "sm",
                  iconName: "bi-x-circle",
                  aria: { label: `Revoke token ${t.name}` },
                  onclick: async () => {
                    if (!(await confirmDialog("Revoke token", `Revoke “${t.name}”? Programs using it stop working at once.`, { confirmText: "Revoke" }))) return;
                    try {
                      await ctx.client.tokens.revoke(t.id);
                      ctx.toast("success", `Token “${t.name}” revoked.`);
                      load();
                    } catch (error) {
                      ctx.toast("danger", error.message);
                    }
                  },
                }),
        },
      ],
    });
    clear(holder, table);
  };
  const create = button("New token", { iconName: "bi-plus-lg" });
  create.addEventListener("click", async () => {
    const token = await formDialog({
      title: "New API token",
      submitText: "Create",
      fields: [
        field({ label: "Name", name: "name", required: true, help: "Unique among your active tokens, e.g. “ci”." }),
        h(
          "fieldset",
          { class: "mb-3", dataset: { pointer: "/scopes" }, id: "token-scopes", tabindex: "-1" },
          h("legend", { class: "form-label fs-6" }, "Scopes"),
          field({ label: "read: read what you may read", name: "scope_read", type: "checkbox", value: true, pointer: "/scopes/read" }),
          field({ label: "write: also create and change data", name: "scope_write", type: "checkbox", pointer: "/scopes/write" }),
          field({ label: "admin: everything you may do", name: "scope_admin", type: "checkbox", pointer: "/scopes/admin" }),
          h("div", { class: "invalid-feedback", id: "token-scopes-error" }),
        ),
        field({ label: "Expires after", name: "expires_in", type: "select", options: EXPIRIES, value: "7776000" }),
      ],
      onSubmit: (values) => {
        const scopes = ["read", "write", "admin"].filter((s) => values[`scope_${s}`]);
        const body = { name: values.name, scopes };
        if (values.expires_in) body.expires_in = Number(values.expires_in);
        return ctx.client.tokens.create(body);
      },
    });
    if (token && token.token) {
      await showSecret(token);
      load();
    }
  });
  root.append(
    pageHeader("My API tokens", create),
    h("p", { class: "text-body-secondary" }, "Tokens let scripts and programs use the API as you, limited to their scopes."),
    holder,
  );
  load();
}
