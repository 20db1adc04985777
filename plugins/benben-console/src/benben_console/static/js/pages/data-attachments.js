// A record's attachments (the files plugin, when installed): list, upload, download, delete.
// Downloads go through the client (the API wants the Authorization header, which a plain link
// does not send) and are saved from a Blob; uploads send the file as the body (?name=).
import { h, clear, button, icon, alertBox, formatDate, uid } from "../components/dom.js";
import { confirmDialog } from "../components/dialogs.js";
import * as api from "./data-api.js";

function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** attachmentsSection({client, cid, rid, canWrite, onChange()}) -> element. */
export function attachmentsSection({ client, cid, rid, canWrite = true, onChange }) {
  const status = h("div", { role: "status", aria: { live: "polite" } });
  const tbody = h("tbody");
  const table = h(
    "table",
    { class: "table table-sm align-middle" },
    h("caption", { class: "visually-hidden" }, "Attachments of this record"),
    h("thead", {}, h("tr", {}, ["Name", "Type", "Size", "Last modified", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
    tbody,
  );
  const fileId = uid("upload");
  const fileInput = h("input", { id: fileId, type: "file", class: "form-control form-control-sm", multiple: true });
  const upload = button("Upload", { kind: "primary", size: "sm", iconName: "bi-upload" });

  const load = async () => {
    try {
      const page = await api.listAttachments(client, cid, rid);
      clear(
        tbody,
        page.data.length
          ? page.data.map((a) =>
              h(
                "tr",
                {},
                h("th", { scope: "row", class: "fw-normal" }, a.name),
                h("td", { class: "small" }, a.content_type),
                h("td", { class: "small text-nowrap" }, size(a.size)),
                h("td", { class: "small text-nowrap" }, formatDate(a.last_modified)),
                h(
                  "td",
                  { class: "text-nowrap" },
                  button("", { kind: "outline-secondary", size: "sm", iconName: "bi-download", aria: { label: `Download ${a.name}` }, onclick: () => download(a.name) }),
                  " ",
                  canWrite ? button("", { kind: "outline-danger", size: "sm", iconName: "bi-trash", aria: { label: `Delete ${a.name}` }, onclick: () => remove(a.name) }) : null,
                ),
              ),
            )
          : h("tr", {}, h("td", { colspan: 5, class: "text-body-secondary" }, "No attachment.")),
      );
    } catch (error) {
      clear(status, alertBox("danger", error.detail || error.message));
    }
  };

  const download = async (name) => {
    try {
      const blob = await api.downloadAttachment(client, cid, rid, name);
      const url = URL.createObjectURL(blob);
      const a = h("a", { href: url, download: name, class: "d-none" });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (error) {
      clear(status, alertBox("danger", `Download failed: ${error.detail || error.message}`));
    }
  };

  const remove = async (name) => {
    if (!(await confirmDialog("Delete attachment?", `Delete ${name}?`, { confirmText: "Delete" }))) return;
    try {
      const result = await api.deleteAttachment(client, cid, rid, name);
      clear(status, h("p", { class: "text-success small" }, `${name} deleted.`));
      onChange?.(result);
      load();
    } catch (error) {
      clear(status, alertBox("danger", error.detail || error.message));
    }
  };

  upload.addEventListener("click", async () => {
    const files = [...fileInput.files];
    if (!files.length) {
      clear(status, h("p", { class: "text-danger small" }, "Choose a file first."));
      return;
    }
    upload.disabled = true;
    try {
      let result = null;
      for (const file of files) {
        clear(status, h("p", { class: "small" }, `Uploading ${file.name}…`));
        try {
          result = await api.uploadAttachment(client, cid, rid, file);
        } catch (error) {
          if (error.status !== 409) throw error;
          if (!(await confirmDialog("Replace the file?", `This record already has a file named ${file.name}. Replace it?`, { confirmText: "Replace", kind: "primary" }))) continue;
          result = await api.uploadAttachment(client, cid, rid, file, { replace: true });
        }
      }
      clear(status, h("p", { class: "text-success small" }, `${files.length} file${files.length === 1 ? "" : "s"} uploaded.`));
      fileInput.value = "";
      onChange?.(result);
      load();
    } catch (error) {
      clear(status, alertBox("danger", `Upload failed: ${error.detail || error.message}`));
    } finally {
      upload.disabled = false;
    }
  });

  load();
  return h(
    "div",
    { class: "bb-attachments" },
    h("div", { class: "table-responsive", tabindex: 0, role: "region", aria: { label: "Attachments of this record" } }, table),
    canWrite
      ? h(
          "div",
          { class: "d-flex flex-wrap gap-2 align-items-end" },
          h("div", {}, h("label", { class: "form-label small mb-0", for: fileId }, icon("bi-paperclip", "me-1"), "Add files"), fileInput),
          upload,
        )
      : null,
    status,
  );
}
