// Collections: the ones the user may see (the API filters them), with their record counts and
// last change, and a dialog to create one.
import { h, link, pageHeader, button, formatDate, alertBox } from "../components/dom.js";
import { field } from "../components/forms.js";
import { formDialog } from "../components/dialogs.js";
import { pagedTable } from "../components/table.js";
import * as api from "./data-api.js";

const ID_PATTERN = "^[a-z0-9][a-z0-9_\\-]{0,63}$";

export async function render(root, ctx) {
  ctx.setTitle("Collections");
  const create = button("New collection", { kind: "primary", iconName: "bi-plus-lg", onclick: () => openCreate(ctx) });
  const table = pagedTable({
    caption: "Collections you may see",
    empty: "No collection yet. Create one to store records.",
    columns: [
      {
        title: "Title",
        render: (c) => link(`/admin/collections/${encodeURIComponent(c.id)}/records`, c.title || c.id),
      },
      { title: "Id", render: (c) => h("code", {}, c.id) },
      { title: "Records", class: "text-end", render: (c) => (c.record_count === null || c.record_count === undefined ? "—" : String(c.record_count)) },
      { title: "Last modified", render: (c) => formatDate(c.last_modified) },
      {
        title: "Actions",
        class: "text-end",
        render: (c) =>
          h(
            "a",
            {
              class: "btn btn-sm btn-outline-secondary",
              href: `/admin/collections/${encodeURIComponent(c.id)}`,
              dataset: { route: "" },
              aria: { label: `Settings of ${c.title || c.id}` },
            },
            "Settings",
          ),
      },
    ],
    fetchPage: (next) => api.listCollections(ctx.client, next),
    onError: (error) => root.append(alertBox("danger", error.detail || error.title || error.message)),
  });
  root.append(pageHeader("Collections", create), table);
  await table.ready;
}

function openCreate(ctx) {
  return formDialog({
    title: "New collection",
    submitText: "Create",
    fields: [
      field({
        label: "Id",
        name: "id",
        required: true,
        help: "Lowercase letters, digits, _ and -; used in URLs and never changes.",
        attrs: { pattern: ID_PATTERN, maxlength: 64, autocomplete: "off", spellcheck: "false" },
      }),
      field({ label: "Title", name: "title" }),
      field({ label: "Description", name: "description", type: "textarea" }),
    ],
    onSubmit: async (values) => {
      const collection = await api.createCollection(ctx.client, {
        id: values.id.trim(),
        title: values.title,
        description: values.description,
      });
      ctx.toast("success", `Collection ${collection.id} created.`);
      ctx.navigate(`/admin/collections/${encodeURIComponent(collection.id)}`);
      return collection;
    },
  });
}
