// A record: its data (form from the schema, or JSON), permissions, attachments (with the files
// plugin) and history (field-level diffs, "Restore this version"). Also the new-record page
// (/admin/collections/<cid>/new: no rid).
import { h, clear, button, icon, link, pageHeader, alertBox, spinner, formatDate } from "../components/dom.js";
import { confirmDialog } from "../components/dialogs.js";
import { recordEditor } from "./data-record-editor.js";
import { permissionsEditor, RECORD_PERMISSIONS } from "./permissions.js";
import { attachmentsSection } from "./data-attachments.js";
import { historyTimeline } from "./history.js";
import { tabs } from "./data-tabs.js";
import * as api from "./data-api.js";

const etagOf = (resource) => resource.etag ?? `"${resource.last_modified}"`;

export async function render(root, ctx) {
  const { cid, rid } = ctx.params;
  const base = `/admin/collections/${encodeURIComponent(cid)}`;
  clear(root, spinner());
  let collection;
  let record = null;
  try {
    [collection, record] = await Promise.all([api.getCollection(ctx.client, cid), rid ? api.getRecord(ctx.client, cid, rid) : null]);
  } catch (error) {
    const missing = error.status === 404 ? `No ${collection || !rid ? "record" : "collection or record"} here that you may see.` : error.detail || error.message;
    clear(
      root,
      h("h1", { class: "h3" }, error.status === 404 ? "Not found" : "This page could not be shown"),
      alertBox("danger", missing, " ", link(`${base}/records`, "Back to the records")),
    );
    return;
  }
  const title = collection.title || cid;
  ctx.setTitle(rid ? `${rid} · ${title}` : `New record · ${title}`);
  const meta = h("p", { class: "text-body-secondary small" });
  const creator = h("code", {});
  const drawMeta = () => {
    if (!record) return;
    clear(meta, "Version ", h("code", {}, String(record.last_modified)), ` · last modified ${formatDate(record.last_modified)}`, record.created_by ? [" · created by ", creator] : null);
  };
  if (record?.created_by) {
    creator.textContent = record.created_by;
    api.userName(ctx.client, record.created_by).then((name) => {
      if (name) creator.textContent = name;
    });
  }

  const editor = recordEditor({
    client: ctx.client,
    collection,
    record,
    onSaved: (saved, { reloaded = false } = {}) => {
      if (!record) {
        ctx.toast("success", `Record ${saved.id} created.`);
        ctx.navigate(`${base}/records/${encodeURIComponent(saved.id)}`, { replace: true });
        return;
      }
      record = saved;
      drawMeta();
      ctx.toast(reloaded ? "info" : "success", reloaded ? "Reloaded the current version." : "Saved.");
    },
  });
  // Changes this page makes besides the data (permissions, attachments) move the record's
  // version: the editor takes the new one as its If-Match base.
  const moved = (result) => {
    if (!result) return;
    record = { ...record, ...result, data: record.data, etag: etagOf(result) };
    editor.setVersion(record);
    drawMeta();
  };

  const crumbs = h(
    "nav",
    { aria: { label: "Breadcrumb" } },
    h(
      "ol",
      { class: "breadcrumb" },
      h("li", { class: "breadcrumb-item" }, link("/admin/collections", "Collections")),
      h("li", { class: "breadcrumb-item" }, link(`${base}/records`, title)),
      h("li", { class: "breadcrumb-item active", aria: { current: "page" } }, rid || "New record"),
    ),
  );
  if (!record) {
    clear(root, crumbs, pageHeader("New record"), h("div", { class: "card card-body" }, editor));
    return;
  }

  const remove = button("Delete", {
    kind: "outline-danger",
    iconName: "bi-trash",
    onclick: async () => {
      if (!(await confirmDialog("Delete this record?", `Delete ${rid}? Its history is kept.`, { confirmText: "Delete" }))) return;
      try {
        await api.deleteRecord(ctx.client, cid, rid, etagOf(record));
        ctx.toast("success", `Record ${rid} deleted.`);
        ctx.navigate(`${base}/records`);
      } catch (error) {
        ctx.toast("danger", error.status === 412 ? "Not deleted: the record changed since you opened it. Reload the page." : error.detail || error.message);
      }
    },
  });

  const restore = async (entry) => {
    const ok = await confirmDialog("Restore this version?", `Replace the record's data with the version of ${formatDate(entry.timestamp)}? The current data stays in the history.`, { confirmText: "Restore", kind: "primary" });
    if (!ok) return;
    try {
      await api.saveRecord(ctx.client, cid, rid, { data: entry.data.data }, { etag: etagOf(record) });
      ctx.toast("success", "Version restored.");
      ctx.navigate(`${base}/records/${encodeURIComponent(rid)}`, { replace: true });
    } catch (error) {
      ctx.toast("danger", error.status === 412 ? "Not restored: the record changed since you opened it. Reload the page." : error.detail || error.message);
    }
  };

  const sections = [{ id: "data", label: "Data", render: () => h("div", {}, editor) }];
  if ("permissions" in record) {
    sections.push({
      id: "permissions",
      label: "Permissions",
      render: () =>
        permissionsEditor({
          client: ctx.client,
          kinds: RECORD_PERMISSIONS,
          permissions: record.permissions,
          onSave: async (permissions) => moved(await api.patchRecordPermissions(ctx.client, cid, rid, permissions)),
        }),
    });
  }
  if (ctx.capabilities?.files) {
    sections.push({
      id: "attachments",
      label: "Attachments",
      render: () =>
        attachmentsSection({
          client: ctx.client,
          cid,
          rid,
          canWrite: "permissions" in record,
          // The upload's and deletion's answers carry the record's new ETag.
          onChange: (result) => {
            if (result?.etag) moved({ etag: result.etag, last_modified: Number(result.etag.replaceAll('"', "")) });
            else if (typeof result?.last_modified === "number") moved({ last_modified: result.last_modified });
          },
        }),
    });
  }
  sections.push({
    id: "history",
    label: "History",
    render: () => historyTimeline({ client: ctx.client, cid, rid, currentVersion: record.last_modified, onRestore: "permissions" in record ? restore : null }),
  });

  clear(root, crumbs, pageHeader(rid, remove), meta, tabs(sections, { initial: ctx.query?.get?.("tab") || "data" }));
  drawMeta();
}
