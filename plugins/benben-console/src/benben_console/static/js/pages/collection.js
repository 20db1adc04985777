// A collection's settings: title and description, JSON Schema (with a dry run against the
// existing records), indexed fields, permissions, and deletion.
import { h, clear, button, icon, link, pageHeader, alertBox, spinner, uid, formatDate } from "../components/dom.js";
import { field, onSubmit } from "../components/forms.js";
import { formDialog } from "../components/dialogs.js";
import { schemaEditor } from "./schema-editor.js";
import { permissionsEditor, COLLECTION_PERMISSIONS } from "./permissions.js";
import * as api from "./data-api.js";

// A dotted path of the query language (docs/data-queries.md: Fields).
const FIELD_PATH = /^(?!_)(?:[A-Za-z0-9-]+(?:_[A-Za-z0-9-]+)*)(?:\.[A-Za-z0-9-]+(?:_[A-Za-z0-9-]+)*){0,7}$/;
const MAX_INDEXED = 16;

function card(title, ...body) {
  const id = uid("section");
  return h(
    "section",
    { class: "card mb-4", aria: { labelledby: id } },
    h("div", { class: "card-header" }, h("h2", { class: "h6 mb-0", id }, title)),
    h("div", { class: "card-body" }, ...body),
  );
}

export async function render(root, ctx) {
  const cid = ctx.params.cid;
  root.append(spinner());
  let collection;
  try {
    collection = await api.getCollection(ctx.client, cid);
  } catch (error) {
    clear(
      root,
      h("h1", { class: "h3" }, error.status === 404 ? "Not found" : "This page could not be shown"),
      alertBox("danger", error.status === 404 ? `No collection “${cid}” that you may see.` : error.detail || error.message),
    );
    return;
  }
  ctx.setTitle(`${collection.title || collection.id} · settings`);
  const base = `/admin/collections/${encodeURIComponent(cid)}`;
  const canWrite = "permissions" in collection; // shown only to those who may write it
  clear(
    root,
    h(
      "nav",
      { aria: { label: "Breadcrumb" } },
      h("ol", { class: "breadcrumb" }, h("li", { class: "breadcrumb-item" }, link("/admin/collections", "Collections")), h("li", { class: "breadcrumb-item active", aria: { current: "page" } }, collection.title || cid)),
    ),
    pageHeader(
      collection.title || cid,
      h("a", { class: "btn btn-primary", href: `${base}/records`, dataset: { route: "" } }, icon("bi-table", "me-1"), "Records"),
      h("a", { class: "btn btn-outline-secondary", href: `${base}/history`, dataset: { route: "" } }, icon("bi-clock-history", "me-1"), "History"),
    ),
    h(
      "p",
      { class: "text-body-secondary" },
      h("code", {}, cid),
      ` · ${collection.record_count ?? "?"} record${collection.record_count === 1 ? "" : "s"} · last modified ${formatDate(collection.last_modified)}`,
    ),
    canWrite ? null : alertBox("info", "You may read this collection but not change its settings."),
    card("Title and description", settingsForm(ctx, collection, canWrite)),
    card("Schema", schemaEditor({ client: ctx.client, collection, canEdit: canWrite, onSaved: (c) => Object.assign(collection, c) })),
    card("Indexed fields", indexedFields(ctx, collection, canWrite)),
    canWrite
      ? card(
          "Permissions",
          permissionsEditor({
            client: ctx.client,
            kinds: COLLECTION_PERMISSIONS,
            permissions: collection.permissions,
            onSave: (permissions) => api.patchCollection(ctx.client, cid, { permissions: { read: null, create: null, write: null, admin: null, ...permissions } }),
          }),
        )
      : null,
    canWrite ? card("Delete", deleteSection(ctx, collection)) : null,
  );
}

function settingsForm(ctx, collection, canWrite) {
  const form = h(
    "form",
    { class: "bb-collection-settings" },
    h("div", { class: "form-error" }),
    field({ label: "Title", name: "title", value: collection.title, attrs: { readonly: !canWrite } }),
    field({ label: "Description", name: "description", type: "textarea", value: collection.description, attrs: { readonly: !canWrite } }),
    canWrite ? button("Save", { kind: "primary", size: "sm", type: "submit", iconName: "bi-save" }) : null,
  );
  onSubmit(form, async (values) => {
    const updated = await api.patchCollection(ctx.client, collection.id, { title: values.title, description: values.description });
    Object.assign(collection, updated);
    ctx.setTitle(`${updated.title || updated.id} · settings`);
    ctx.toast("success", "Title and description saved.");
  });
  return form;
}

/** Dotted paths as removable chips; each gets an index of the collection's records. */
function indexedFields(ctx, collection, canWrite) {
  let fields = [...(collection.indexed_fields || [])];
  const list = h("div", { class: "mb-2" });
  const status = h("div", { class: "small mt-1", role: "status", aria: { live: "polite" } });
  const inputId = uid("indexed");
  const input = h("input", { id: inputId, class: "form-control form-control-sm", placeholder: "price or author.name", autocomplete: "off", spellcheck: "false" });
  const draw = () =>
    clear(
      list,
      fields.length
        ? h(
            "ul",
            { class: "list-unstyled d-flex flex-wrap gap-1 mb-0", aria: { label: "Indexed fields" } },
            fields.map((f) =>
            h(
              "li",
              { class: "badge rounded-pill text-bg-light border d-inline-flex align-items-center gap-1 bb-chip" },
              h("code", {}, f),
              canWrite
                ? h("button", { type: "button", class: "btn btn-sm btn-link p-0 text-body", aria: { label: `Remove ${f}` }, onclick: () => save(fields.filter((x) => x !== f)) }, icon("bi-x-lg"))
                : null,
            ),
            ),
          )
        : h("p", { class: "text-body-secondary small mb-0" }, "None: filters and sorts read the whole collection."),
    );
  const save = async (next) => {
    try {
      const updated = await api.patchCollection(ctx.client, collection.id, { indexed_fields: next });
      fields = [...updated.indexed_fields];
      clear(status, h("span", { class: "text-success" }, "Indexed fields saved."));
      draw();
    } catch (error) {
      clear(status, h("span", { class: "text-danger" }, error.errors?.map((e) => e.message).join("; ") || error.detail || error.message));
    }
  };
  const add = () => {
    const path = input.value.trim();
    if (!FIELD_PATH.test(path)) {
      clear(status, h("span", { class: "text-danger" }, `“${path}” is not a field path (dotted names of letters, digits, - and single _).`));
      return;
    }
    if (fields.length >= MAX_INDEXED) {
      clear(status, h("span", { class: "text-danger" }, `At most ${MAX_INDEXED} indexed fields.`));
      return;
    }
    if (!fields.includes(path)) save([...fields, path]);
    input.value = "";
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      add();
    }
  });
  draw();
  return h(
    "div",
    {},
    h("p", { class: "form-text mt-0" }, "Declare the fields records are filtered or sorted on: each gets an index, so queries stay fast in large collections."),
    list,
    canWrite
      ? h(
          "div",
          { class: "input-group input-group-sm bb-indexed-add" },
          h("label", { class: "input-group-text", for: inputId }, "Field"),
          input,
          button("Add", { kind: "outline-secondary", size: "sm", iconName: "bi-plus", onclick: add }),
        )
      : null,
    status,
  );
}

function deleteSection(ctx, collection) {
  const remove = button("Delete this collection", {
    kind: "outline-danger",
    size: "sm",
    iconName: "bi-trash",
    onclick: () =>
      formDialog({
        title: `Delete ${collection.id}?`,
        submitText: "Delete for ever",
        submitKind: "danger",
        fields: [
          h("p", {}, `All ${collection.record_count ?? ""} records of the collection are deleted with it. This cannot be undone.`),
          field({ label: `Type the collection's id (${collection.id}) to confirm`, name: "confirm", required: true, attrs: { autocomplete: "off" } }),
        ],
        onSubmit: async (values) => {
          if (values.confirm !== collection.id) {
            throw { title: "Not deleted", errors: [{ pointer: "/confirm", message: "The id does not match." }] };
          }
          await api.deleteCollection(ctx.client, collection.id);
          ctx.toast("success", `Collection ${collection.id} deleted.`);
          ctx.navigate("/admin/collections");
        },
      }),
  });
  return h("div", {}, h("p", { class: "mb-2" }, "Deletes the collection and every record in it at once. Its history is kept until retention drops it."), remove);
}
