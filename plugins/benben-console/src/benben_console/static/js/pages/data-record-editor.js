// The record page's editor: the form generated from the schema, or the record's data as JSON
// ("Edit as JSON": always offered, the only mode when the schema is outside the form's subset).
// Saving sends If-Match with the version that was opened; a 412 says the record changed since,
// shows what changed, and offers to reload (dropping one's edits) or to overwrite.
import { h, append, clear, button, icon, uid, alertBox } from "../components/dom.js";
import { clearErrors, showProblem, setFieldError } from "../components/forms.js";
import { recordForm, formUnsupported, showLocalErrors } from "./record-form.js";
import { diffList } from "./history.js";
import * as api from "./data-api.js";

const RID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_\\-]{0,63}$";

/**
 * recordEditor({client, collection, record, etag, onSaved(record)}) -> element. record is null
 * for a new one. element.setVersion(record, etag) takes a newer version made by this page (an
 * attachment, permissions) as the base of If-Match.
 */
export function recordEditor({ client, collection, record, onSaved }) {
  const isNew = !record;
  const unsupported = formUnsupported(collection.schema);
  let base = record; // the version the edits started from
  let etag = record?.etag ?? (record ? `"${record.last_modified}"` : null);
  let mode = unsupported ? "json" : "form";
  let generated = null;
  const form = h("form", { class: "bb-record-editor", aria: { label: isNew ? "New record" : `Record ${record.id}` } });
  const body = h("div");
  const conflict = h("div");
  const jsonId = uid("json");
  const ridField = isNew
    ? h(
        "div",
        { class: "mb-3" },
        h("label", { class: "form-label", for: "record-id" }, "Id (optional: a random one otherwise)"),
        h("input", { id: "record-id", name: "rid", class: "form-control", pattern: RID_PATTERN, maxlength: 64, autocomplete: "off", spellcheck: "false", dataset: { pointer: "/id" } }),
        h("div", { id: "record-id-error", class: "invalid-feedback" }),
      )
    : null;

  const currentData = () => {
    if (mode === "form") return generated.read();
    const text = form.querySelector(`#${jsonId}`).value;
    try {
      const value = JSON.parse(text);
      if (!value || typeof value !== "object" || Array.isArray(value)) return { data: null, errors: [{ pointer: "/data", message: "must be a JSON object" }] };
      return { data: value, errors: [] };
    } catch (error) {
      return { data: null, errors: [{ pointer: "/data", message: `is not valid JSON: ${error.message}` }] };
    }
  };

  const draw = (data) => {
    if (mode === "form") {
      generated = recordForm({ schema: collection.schema, data });
      clear(body, generated.element);
    } else {
      const textarea = h("textarea", { id: jsonId, class: "form-control font-monospace bb-code", rows: 16, spellcheck: "false", dataset: { pointer: "/data" }, aria: { describedby: `${jsonId}-help` } });
      textarea.value = JSON.stringify(data ?? {}, null, 2);
      clear(
        body,
        h("label", { class: "form-label", for: jsonId }, "Record data (JSON object)"),
        textarea,
        h("div", { id: `${jsonId}-help`, class: "form-text" }, unsupported ? `${unsupported} Edit the data as JSON.` : "The whole data object; the schema is checked when saving."),
        h("div", { id: `${jsonId}-error`, class: "invalid-feedback" }),
      );
    }
    formToggle.setAttribute("aria-pressed", String(mode === "form"));
    jsonToggle.setAttribute("aria-pressed", String(mode === "json"));
    formToggle.classList.toggle("active", mode === "form");
    jsonToggle.classList.toggle("active", mode === "json");
  };

  const switchTo = (next) => {
    if (next === mode) return;
    clearErrors(form);
    const { data, errors } = currentData();
    if (errors.length) {
      showLocalErrors(form, errors);
      return;
    }
    mode = next;
    draw(data);
  };
  const formToggle = button("Form", { kind: "outline-secondary", size: "sm", iconName: "bi-ui-checks", disabled: Boolean(unsupported), onclick: () => switchTo("form") });
  const jsonToggle = button("Edit as JSON", { kind: "outline-secondary", size: "sm", iconName: "bi-braces", onclick: () => switchTo("json") });
  const save = button(isNew ? "Create record" : "Save", { kind: "primary", type: "submit", iconName: "bi-save" });

  const send = async (data, { overwrite = false } = {}) => {
    if (isNew) {
      const rid = form.querySelector("#record-id").value.trim();
      return api.saveRecord(client, collection.id, rid || null, { data }, { create: true });
    }
    return api.saveRecord(client, collection.id, record.id, { data }, { etag: overwrite ? overwrite : etag });
  };

  const saved = (result) => {
    clear(conflict);
    base = result;
    etag = result.etag ?? `"${result.last_modified}"`;
    onSaved(result);
  };

  const showConflict = async (data, error) => {
    let theirs = null;
    try {
      theirs = await api.getRecord(client, collection.id, record.id);
    } catch {
      theirs = null; // deleted meanwhile: overwriting recreates it
    }
    const reload = button("Reload, dropping my changes", { kind: "outline-secondary", size: "sm", iconName: "bi-arrow-clockwise" });
    const overwrite = button("Overwrite with my version", { kind: "danger", size: "sm", iconName: "bi-exclamation-triangle" });
    reload.addEventListener("click", () => {
      if (!theirs) return;
      base = theirs;
      etag = theirs.etag ?? `"${theirs.last_modified}"`;
      clear(conflict);
      draw(theirs.data);
      onSaved(theirs, { reloaded: true });
    });
    overwrite.addEventListener("click", async () => {
      try {
        saved(await send(data, { overwrite: theirs ? theirs.etag ?? `"${theirs.last_modified}"` : error.etag || "*" }));
      } catch (again) {
        if (again.status === 412) showConflict(data, again);
        else showProblem(form, again);
      }
    });
    clear(
      conflict,
      alertBox(
        "warning",
        h("h2", { class: "h6" }, icon("bi-exclamation-triangle", "me-1"), "This record changed since you opened it."),
        h("p", { class: "mb-2" }, theirs ? "Someone saved another version meanwhile. Their changes, from the version you opened:" : "It was deleted meanwhile."),
        theirs ? diffList({ previous: { data: base?.data }, data: { data: theirs.data } }) : null,
        h("div", { class: "d-flex flex-wrap gap-2 mt-2" }, theirs ? reload : null, overwrite),
      ),
    );
    conflict.querySelector("h2")?.setAttribute("tabindex", "-1");
    conflict.querySelector("h2")?.focus();
  };

  form.noValidate = true;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const rid = form.querySelector("#record-id");
    if (rid && !rid.checkValidity()) {
      setFieldError(rid, "1-64 letters, digits, _ and -, starting with a letter or digit.");
      rid.focus();
      return;
    }
    const { data, errors } = currentData();
    if (errors.length) {
      showLocalErrors(form, errors);
      return;
    }
    save.disabled = true;
    try {
      saved(await send(data));
    } catch (error) {
      if (error.status === 412 && !isNew) await showConflict(data, error);
      else if (error.status === 412) showProblem(form, { title: "A record with this id exists already.", errors: [{ pointer: "/id", message: "is taken" }] });
      else showProblem(form, error);
    } finally {
      save.disabled = false;
    }
  });

  append(
    form,
    h("div", { class: "form-error" }),
    conflict,
    h("div", { class: "btn-group mb-3", role: "group", aria: { label: "Editing mode" } }, formToggle, jsonToggle),
    unsupported ? h("p", { class: "form-text" }, unsupported) : null,
    ridField,
    body,
    h("div", { class: "d-flex gap-2 mt-2" }, save),
  );
  draw(record?.data ?? {});
  form.setVersion = (newer) => {
    base = { ...base, ...newer };
    etag = newer.etag ?? `"${newer.last_modified}"`;
  };
  return form;
}
