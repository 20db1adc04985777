// Form fields with labels, help text and inline errors. A problem (RFC 9457) from the API is shown
// next to the fields its errors[].pointer names; what names no field shows at the top of the form.
import { h, uid, clear } from "./dom.js";

/**
 * field({label, name, type, value, required, help, options, pointer, attrs})
 * type: text (default), email, password, number, textarea, select, checkbox, switch.
 * options (select): [[value, text], ...]. pointer: the JSON pointer of the body member this
 * field edits ("/username"); defaults to "/" + name.
 * Returns the wrapper element; wrapper.input is the control.
 */
export function field({ label, name, type = "text", value, required = false, help, options = [], pointer, attrs = {} }) {
  const id = uid(`f-${name}`);
  const helpId = help ? `${id}-help` : undefined;
  const errorId = `${id}-error`;
  const described = [helpId].filter(Boolean).join(" ") || undefined;
  let input;
  const common = { id, name, required, aria: { describedby: described }, ...attrs };
  if (type === "textarea") {
    input = h("textarea", { class: "form-control", rows: 4, ...common });
    if (value !== undefined && value !== null) input.value = String(value);
  } else if (type === "select") {
    input = h(
      "select",
      { class: "form-select", ...common },
      options.map(([v, text]) => h("option", { value: v, selected: String(v) === String(value ?? "") }, text)),
    );
  } else if (type === "checkbox" || type === "switch") {
    input = h("input", { class: "form-check-input", type: "checkbox", checked: Boolean(value), role: type === "switch" ? "switch" : undefined, ...common });
  } else {
    input = h("input", { class: "form-control", type, ...common });
    if (value !== undefined && value !== null) input.value = String(value);
  }
  input.dataset.pointer = pointer ?? `/${name}`;
  const error = h("div", { id: errorId, class: "invalid-feedback" });
  const helpEl = help ? h("div", { id: helpId, class: "form-text" }, help) : null;
  let wrapper;
  if (type === "checkbox" || type === "switch") {
    wrapper = h(
      "div",
      { class: ["form-check", type === "switch" ? "form-switch" : "", "mb-3"] },
      input,
      h("label", { class: "form-check-label", for: id }, label),
      helpEl,
      error,
    );
  } else {
    wrapper = h(
      "div",
      { class: "mb-3" },
      h("label", { class: "form-label", for: id }, label, required ? h("span", { class: "text-danger", aria: { hidden: "true" } }, " *") : null),
      input,
      helpEl,
      error,
    );
  }
  wrapper.input = input;
  return wrapper;
}

/** The value of a control built by field(): booleans for checkboxes, numbers for type=number. */
export function valueOf(input) {
  if (input.type === "checkbox") return input.checked;
  if (input.type === "number") return input.value === "" ? null : Number(input.value);
  return input.value;
}

/** Read every named control of a form into an object (name -> valueOf). */
export function formValues(form) {
  const out = {};
  for (const el of form.querySelectorAll("input[name], select[name], textarea[name]")) out[el.name] = valueOf(el);
  return out;
}

/** A form-level error area (put it at the top of the form). */
export function formError() {
  return h("div", { class: "form-error", role: "alert", aria: { live: "assertive" } });
}

/** Remove every inline error of a form. */
export function clearErrors(form) {
  for (const el of form.querySelectorAll(".is-invalid")) {
    el.classList.remove("is-invalid");
    el.removeAttribute("aria-invalid");
    const errorId = `${el.id}-error`;
    const described = (el.getAttribute("aria-describedby") || "").split(" ").filter((x) => x && x !== errorId);
    if (described.length) el.setAttribute("aria-describedby", described.join(" "));
    else el.removeAttribute("aria-describedby");
  }
  for (const el of form.querySelectorAll(".invalid-feedback")) {
    el.textContent = "";
    el.classList.remove("d-block");
  }
  for (const el of form.querySelectorAll(".form-error")) clear(el);
}

/** Mark one control invalid with a message (also announced via aria-describedby). */
export function setFieldError(input, message) {
  input.classList.add("is-invalid");
  input.setAttribute("aria-invalid", "true");
  const errorId = `${input.id}-error`;
  const feedback = document.getElementById(errorId);
  if (feedback) {
    feedback.textContent = feedback.textContent ? `${feedback.textContent} ${message}` : message;
    // Bootstrap shows .invalid-feedback only right after an .is-invalid control; a fieldset's
    // own feedback (inside it) would stay hidden.
    feedback.classList.add("d-block");
    const described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (!described.includes(errorId)) input.setAttribute("aria-describedby", [...described, errorId].join(" "));
  }
}

/**
 * Show an error from the API on a form: each errors[] entry whose pointer (or a parent of it)
 * names a control goes next to it; the rest, and the problem's title/detail, go to the form's
 * .form-error area. Non-problem errors (network) show their message. Focuses the first invalid
 * control. Returns true when something was shown inline.
 */
export function showProblem(form, error) {
  clearErrors(form);
  const controls = [...form.querySelectorAll("[data-pointer]")];
  const byPointer = new Map(controls.map((c) => [c.dataset.pointer, c]));
  const leftover = [];
  let first = null;
  for (const e of error?.errors || []) {
    let pointer = e.pointer ?? "";
    let control = null;
    while (pointer && !(control = byPointer.get(pointer))) pointer = pointer.slice(0, pointer.lastIndexOf("/"));
    if (control) {
      setFieldError(control, e.message || e.detail || "Invalid value.");
      first = first || control;
    } else {
      leftover.push(e);
    }
  }
  const area = form.querySelector(".form-error");
  const title = error?.title || error?.message || "Something went wrong.";
  const detail = error?.detail && error.detail !== title ? error.detail : "";
  if (area && (!first || leftover.length)) {
    clear(
      area,
      h(
        "div",
        { class: "alert alert-danger" },
        h("strong", {}, title),
        detail ? [" ", detail] : null,
        leftover.length
          ? h("ul", { class: "mb-0 mt-1" }, leftover.map((e) => h("li", {}, e.pointer ? `${e.pointer}: ` : "", e.message || e.detail || "")))
          : null,
      ),
    );
  }
  (first || area)?.focus?.();
  return Boolean(first);
}

/**
 * Wire a form's submit: prevents the default, disables the submit button while `action(values)`
 * runs, shows API problems inline. `action` gets formValues(form) and the form.
 */
export function onSubmit(form, action) {
  form.noValidate = true;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const invalid = [...form.querySelectorAll("input, select, textarea")].filter((el) => !el.checkValidity());
    if (invalid.length) {
      for (const el of invalid) setFieldError(el, el.validationMessage);
      invalid[0].focus();
      return;
    }
    const submit = form.querySelector("[type=submit]");
    if (submit) submit.disabled = true;
    try {
      await action(formValues(form), form);
    } catch (error) {
      showProblem(form, error);
    } finally {
      if (submit) submit.disabled = false;
    }
  });
  return form;
}
