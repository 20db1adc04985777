// Modal dialogs on the native <dialog> element: focus trapping, Escape and the top layer come from
// the browser, so no Bootstrap JS state to keep in sync. Styled with Bootstrap's modal classes.
import { h, button } from "./dom.js";
import * as forms from "./forms.js";

/**
 * openDialog({title, body, actions}) -> {dialog, close(value)}; `closed` resolves with the value.
 * body: a Node or array of Nodes. actions: [{text, kind, value, iconName}] buttons closing with
 * their value (a form's submit can call close itself).
 */
export function openDialog({ title, body, actions = [], size = "" }) {
  const titleId = `dlg-${Math.random().toString(36).slice(2)}`;
  let resolve;
  const closed = new Promise((r) => {
    resolve = r;
  });
  const dialog = h("dialog", { class: ["bb-dialog", "p-0", "border-0", "rounded", size ? `bb-dialog-${size}` : ""], aria: { labelledby: titleId } });
  const close = (value) => {
    resolve(value);
    dialog.close();
    dialog.remove();
  };
  const footer = actions.map((a) =>
    button(a.text, { kind: a.kind || "secondary", iconName: a.iconName, onclick: () => close(a.value) }),
  );
  dialog.append(
    h(
      "div",
      { class: "modal-content" },
      h(
        "div",
        { class: "modal-header" },
        h("h2", { class: "modal-title h5", id: titleId }, title),
        h("button", { type: "button", class: "btn-close", aria: { label: "Close" }, onclick: () => close(undefined) }),
      ),
      h("div", { class: "modal-body" }, body),
      footer.length ? h("div", { class: "modal-footer" }, footer) : null,
    ),
  );
  dialog.addEventListener("cancel", (event) => {
    event.preventDefault();
    close(undefined);
  });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, close, closed };
}

/** confirmDialog(title, text, {confirmText, kind}) -> Promise<boolean> */
export function confirmDialog(title, text, { confirmText = "Confirm", kind = "danger" } = {}) {
  const { closed } = openDialog({
    title,
    body: h("p", { class: "mb-0" }, text),
    actions: [
      { text: "Cancel", kind: "outline-secondary", value: false },
      { text: confirmText, kind, value: true },
    ],
  });
  return closed.then(Boolean);
}

/**
 * formDialog({title, fields, submitText, onSubmit}) — a dialog holding a form; onSubmit(values,
 * form) may throw a ProblemError, shown inline (see forms.js); on success the dialog closes with
 * onSubmit's result.
 */
export function formDialog({ title, fields, submitText = "Save", submitKind = "primary", onSubmit }) {
  const form = h("form", {}, forms.formError(), fields);
  const submit = button(submitText, { kind: submitKind, type: "submit" });
  const cancel = button("Cancel", { kind: "outline-secondary" });
  form.append(h("div", { class: "d-flex justify-content-end gap-2" }, cancel, submit));
  const handle = openDialog({ title, body: form });
  cancel.addEventListener("click", () => handle.close(undefined));
  forms.onSubmit(form, async (values) => {
    const result = await onSubmit(values, form);
    handle.close(result === undefined ? true : result);
  });
  form.querySelector("input, select, textarea")?.focus();
  return handle.closed;
}
