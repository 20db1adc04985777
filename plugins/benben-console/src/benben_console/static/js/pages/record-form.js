// A form generated from a collection's JSON Schema, for the common subset: strings (with `format`
// and `enum`), numbers and integers (with minimum/maximum), booleans, arrays of scalars, objects
// one level deep, required markers. A property outside the subset gets a JSON box of its own; a
// schema whose root is outside it (composition, references, no properties) has no form: the
// record page then offers only "Edit as JSON". Members the schema does not declare are kept.
import { h, clear, button, icon, uid } from "../components/dom.js";
import { field, setFieldError } from "../components/forms.js";

const SCALARS = new Set(["string", "number", "integer", "boolean"]);
const ROOT_UNSUPPORTED = ["$ref", "$dynamicRef", "allOf", "anyOf", "oneOf", "not", "if", "dependentSchemas"];
const INPUT_TYPES = { email: "email", uri: "url", date: "date" };

/** Why a schema has no generated form, or null when it has one. */
export function formUnsupported(schema) {
  if (!schema || typeof schema !== "object") return "The collection has no schema: any JSON object is a record.";
  const used = ROOT_UNSUPPORTED.filter((k) => k in schema);
  if (used.length) return `The schema uses ${used.join(", ")}, which the form does not cover.`;
  if (schema.type !== undefined && schema.type !== "object") return "The schema's root is not an object.";
  if (!schema.properties || typeof schema.properties !== "object" || !Object.keys(schema.properties).length) {
    return "The schema declares no properties.";
  }
  return null;
}

/** The kind of control for a property schema. */
export function kindOf(sub) {
  if (!sub || typeof sub !== "object") return "json";
  if (Array.isArray(sub.enum) && sub.enum.length && sub.enum.every((v) => v === null || typeof v !== "object")) return "enum";
  if (SCALARS.has(sub.type)) return sub.type;
  if (sub.type === "array" && sub.items && (SCALARS.has(sub.items.type) || Array.isArray(sub.items.enum))) return "array";
  if (sub.type === "object" && sub.properties && typeof sub.properties === "object") return "object";
  return "json";
}

const pointerOf = (path) => `/data/${path.map((p) => String(p).replaceAll("~", "~0").replaceAll("/", "~1")).join("/")}`;

/**
 * recordForm({schema, data}) -> {element, read() -> {data, errors: [{pointer, message}]}}.
 * read() starts from `data` (undeclared members kept) and sets or removes each declared one.
 */
export function recordForm({ schema, data }) {
  const original = data && typeof data === "object" ? data : {};
  const readers = [];
  const element = h("div", { class: "bb-record-form" });
  const required = new Set(schema.required || []);
  for (const [name, sub] of Object.entries(schema.properties)) {
    element.append(control([name], sub, original[name], required.has(name), readers, 0));
  }
  const extra = Object.keys(original).filter((k) => !(k in schema.properties));
  if (extra.length) {
    element.append(h("p", { class: "form-text" }, `Kept as they are: ${extra.join(", ")} (not in the schema; edit them as JSON).`));
  }
  const read = () => {
    const out = structuredClone(original);
    const errors = [];
    for (const reader of readers) reader(out, errors);
    return { data: out, errors };
  };
  return { element, read };
}

function labelOf(path, sub) {
  return sub?.title || path[path.length - 1];
}

/** Set (or, for undefined, remove) the member at path in obj, creating the parent object. */
function put(obj, path, value) {
  let target = obj;
  for (const key of path.slice(0, -1)) {
    if (target[key] === null || typeof target[key] !== "object" || Array.isArray(target[key])) {
      if (value === undefined) return;
      target[key] = {};
    }
    target = target[key];
  }
  const last = path[path.length - 1];
  if (value === undefined) delete target[last];
  else target[last] = value;
}

/** Whether a stored value can be shown by a kind's control (else it gets a JSON box: no loss). */
function fits(kind, sub, value) {
  if (value === undefined) return true;
  const scalar = (v) => v === null || typeof v !== "object";
  switch (kind) {
    case "string":
      return typeof value === "string";
    case "number":
      return typeof value === "number";
    case "integer":
      return Number.isInteger(value);
    case "boolean":
      return typeof value === "boolean";
    case "enum":
      return scalar(value) && sub.enum.some((v) => v === value);
    case "array":
      return Array.isArray(value) && value.every((v) => (Array.isArray(sub.items.enum) ? sub.items.enum.includes(v) : fits(sub.items.type, sub.items, v)));
    case "object":
      return value !== null && typeof value === "object" && !Array.isArray(value);
    default:
      return true;
  }
}

function control(path, sub, value, isRequired, readers, depth) {
  let kind = kindOf(sub);
  if ((kind === "object" && depth > 0) || !fits(kind, sub, value)) kind = "json";
  const name = path.join(".");
  const pointer = pointerOf(path);
  const label = labelOf(path, sub);
  const help = sub?.description;
  if (kind === "object") {
    const inner = new Set(sub.required || []);
    const original = value && typeof value === "object" && !Array.isArray(value) ? value : undefined;
    const legendId = uid("obj");
    const children = Object.entries(sub.properties).map(([key, s]) => control([...path, key], s, original?.[key], inner.has(key), readers, depth + 1));
    // The object itself: present when it was, or when one of its members is filled in.
    readers.push((out) => {
      const now = path.reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), out);
      if (now && typeof now === "object" && !Object.keys(now).length && !original && !isRequired) put(out, path, undefined);
    });
    return h(
      "fieldset",
      { class: "border rounded p-3 mb-3", aria: { labelledby: legendId } },
      h("legend", { id: legendId, class: "h6 float-none w-auto px-1 mb-0" }, label, isRequired ? h("span", { class: "text-danger", aria: { hidden: "true" } }, " *") : null),
      help ? h("p", { class: "form-text mt-0" }, help) : null,
      children,
    );
  }
  if (kind === "array") return arrayControl(path, sub, value, isRequired, readers);
  let wrapper;
  if (kind === "enum") {
    const options = [["", "— not set —"], ...sub.enum.map((v) => [JSON.stringify(v), typeof v === "string" ? v : JSON.stringify(v)])];
    wrapper = field({ label, name, type: "select", value: value === undefined ? "" : JSON.stringify(value), required: isRequired, help, options, pointer });
    readers.push((out) => put(out, path, wrapper.input.value === "" ? undefined : JSON.parse(wrapper.input.value)));
  } else if (kind === "boolean") {
    const options = [["", "— not set —"], ["true", "true"], ["false", "false"]];
    wrapper = field({ label, name, type: "select", value: value === undefined ? "" : String(value), required: isRequired, help, options, pointer });
    readers.push((out) => put(out, path, wrapper.input.value === "" ? undefined : wrapper.input.value === "true"));
  } else if (kind === "number" || kind === "integer") {
    const attrs = { step: kind === "integer" ? "1" : "any" };
    if (typeof sub.minimum === "number") attrs.min = sub.minimum;
    if (typeof sub.maximum === "number") attrs.max = sub.maximum;
    wrapper = field({ label, name, type: "number", value: typeof value === "number" ? value : undefined, required: isRequired, help, pointer, attrs });
    readers.push((out, errors) => {
      const text = wrapper.input.value.trim();
      if (text === "") return put(out, path, undefined);
      const n = Number(text);
      if (!Number.isFinite(n) || (kind === "integer" && !Number.isInteger(n))) errors.push({ pointer, message: `must be ${kind === "integer" ? "an integer" : "a number"}` });
      else put(out, path, n);
      return undefined;
    });
  } else if (kind === "string") {
    const long = (sub.maxLength ?? 0) > 200 || sub.format === "textarea";
    const type = long ? "textarea" : INPUT_TYPES[sub.format] || "text";
    const attrs = {};
    if (typeof sub.maxLength === "number") attrs.maxlength = sub.maxLength;
    if (sub.format === "date-time") attrs.placeholder = "2026-12-31T23:59:00Z";
    wrapper = field({ label, name, type, value: typeof value === "string" ? value : undefined, required: isRequired, help: help || (sub.format ? `Format: ${sub.format}` : undefined), pointer, attrs });
    // An empty box leaves the member out (it was absent, or is cleared), unless it held "".
    readers.push((out) => put(out, path, wrapper.input.value === "" && value !== "" ? undefined : wrapper.input.value));
  } else {
    wrapper = field({ label: `${label} (JSON)`, name, type: "textarea", value: value === undefined ? "" : JSON.stringify(value, null, 2), required: isRequired, help: help || "A JSON value; empty leaves it out.", pointer, attrs: { spellcheck: "false", class: "form-control font-monospace" } });
    readers.push((out, errors) => {
      const text = wrapper.input.value.trim();
      if (!text) return put(out, path, undefined);
      try {
        put(out, path, JSON.parse(text));
      } catch (error) {
        errors.push({ pointer, message: `is not valid JSON (${error.message})` });
      }
      return undefined;
    });
  }
  wrapper.dataset.kind = kind;
  return wrapper;
}

/** An array of scalars: one input per element, add and remove buttons. */
function arrayControl(path, sub, value, isRequired, readers) {
  const items = sub.items;
  const itemKind = Array.isArray(items.enum) ? "enum" : items.type;
  const pointer = pointerOf(path);
  const legendId = uid("arr");
  const list = h("div", { class: "d-grid gap-1" });
  const values = Array.isArray(value) ? [...value] : [];
  const inputs = [];
  const label = labelOf(path, sub);
  const itemInput = (v, i) => {
    const id = uid("item");
    let input;
    if (itemKind === "enum" || itemKind === "boolean") {
      const choices = itemKind === "boolean" ? [true, false] : items.enum;
      input = h("select", { id, class: "form-select form-select-sm" }, choices.map((c) => h("option", { value: JSON.stringify(c), selected: JSON.stringify(c) === JSON.stringify(v) }, typeof c === "string" ? c : JSON.stringify(c))));
    } else {
      input = h("input", { id, class: "form-control form-control-sm", type: itemKind === "string" ? "text" : "number", step: itemKind === "integer" ? "1" : "any" });
      if (v !== undefined && v !== null) input.value = String(v);
    }
    input.dataset.pointer = `${pointer}/${i}`;
    inputs[i] = input;
    return h(
      "div",
      { class: "d-flex gap-1 align-items-start bb-array-item" },
      h("label", { class: "visually-hidden", for: id }, `${label}, item ${i + 1}`),
      h("div", { class: "flex-grow-1" }, input, h("div", { id: `${id}-error`, class: "invalid-feedback" })),
      h("button", { type: "button", class: "btn btn-sm btn-outline-danger", aria: { label: `Remove item ${i + 1} of ${label}` }, onclick: () => { sync(); values.splice(i, 1); draw(); } }, icon("bi-x-lg")),
    );
  };
  const parse = (input) => {
    if (itemKind === "enum" || itemKind === "boolean") return JSON.parse(input.value);
    if (itemKind === "string") return input.value;
    return input.value.trim() === "" ? NaN : Number(input.value);
  };
  const sync = () => {
    inputs.forEach((input, i) => {
      if (input && i < values.length) values[i] = itemKind === "string" || itemKind === "enum" || itemKind === "boolean" ? parse(input) : input.value;
    });
  };
  const draw = () => {
    inputs.length = 0;
    clear(list, values.length ? values.map(itemInput) : h("p", { class: "small text-body-secondary mb-0" }, "No item."));
  };
  const add = button("Add item", { kind: "outline-secondary", size: "sm", iconName: "bi-plus", onclick: () => { sync(); values.push(itemKind === "boolean" ? true : itemKind === "enum" ? items.enum[0] : ""); draw(); inputs[inputs.length - 1]?.focus(); } });
  readers.push((out, errors) => {
    const result = [];
    inputs.forEach((input, i) => {
      const v = parse(input);
      if (typeof v === "number" && (!Number.isFinite(v) || (itemKind === "integer" && !Number.isInteger(v)))) errors.push({ pointer: `${pointer}/${i}`, message: "must be a number" });
      else result.push(v);
    });
    put(out, path, result.length || value !== undefined || isRequired ? result : undefined);
  });
  draw();
  const fieldset = h(
    "fieldset",
    { class: "mb-3", aria: { labelledby: legendId }, dataset: { kind: "array" } },
    h("legend", { id: legendId, class: "form-label fs-6 mb-1" }, label, isRequired ? h("span", { class: "text-danger", aria: { hidden: "true" } }, " *") : null),
    sub.description ? h("p", { class: "form-text mt-0" }, sub.description) : null,
    list,
    h("div", { class: "mt-1" }, add),
  );
  return fieldset;
}

/** Mark the client-side errors of read() on the form (the same way the API's are shown). */
export function showLocalErrors(form, errors) {
  const controls = [...form.querySelectorAll("[data-pointer]")];
  for (const e of errors) {
    const input = controls.find((c) => c.dataset.pointer === e.pointer);
    if (input) setFieldError(input, e.message);
  }
  controls.find((c) => c.classList.contains("is-invalid"))?.focus();
}
