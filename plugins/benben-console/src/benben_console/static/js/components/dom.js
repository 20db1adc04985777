// DOM building without innerHTML: every string given as a child becomes a text node, so data from
// the API can never inject markup (and the strict CSP forbids inline handlers anyway).

/**
 * h("a", {href: "/x", class: "btn", onclick: fn, dataset: {id: 1}, aria: {label: "x"}}, "text", el)
 * Attributes: `class` (string or array), `dataset`, `aria` (aria-*), `on<event>` functions,
 * boolean attributes (true sets, false/null/undefined skips), anything else as a string attribute.
 * Children: strings/numbers (text nodes), Nodes, arrays (flattened), null/undefined/false (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs || {});
  append(el, ...children);
  return el;
}

export function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") {
      const classes = Array.isArray(value) ? value.filter(Boolean) : String(value).split(/\s+/);
      for (const c of classes) if (c) el.classList.add(c);
    } else if (key === "dataset") {
      for (const [k, v] of Object.entries(value)) el.dataset[k] = String(v);
    } else if (key === "aria") {
      for (const [k, v] of Object.entries(value)) {
        if (v !== undefined && v !== null) el.setAttribute(`aria-${k}`, String(v));
      }
    } else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "value" && "value" in el) {
      el.value = String(value);
    } else if (key === "checked" || key === "selected" || key === "disabled") {
      el[key] = Boolean(value);
      if (value) el.setAttribute(key, "");
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  return el;
}

export function append(el, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace all of el's children. */
export function clear(el, ...children) {
  el.replaceChildren();
  return append(el, ...children);
}

/** A bootstrap-icons glyph, hidden from assistive technology (the label is elsewhere). */
export function icon(name, extraClass = "") {
  return h("i", { class: ["bi", name, extraClass], aria: { hidden: "true" } });
}

/** A link handled by the console's router (see app.js: clicks on a[data-route] navigate). */
export function link(href, ...children) {
  return h("a", { href, dataset: { route: "" } }, ...children);
}

/** A spinner with an accessible status text. */
export function spinner(text = "Loading…") {
  return h(
    "div",
    { class: "d-flex align-items-center gap-2 text-body-secondary", role: "status" },
    h("span", { class: "spinner-border spinner-border-sm", aria: { hidden: "true" } }),
    h("span", {}, text),
  );
}

/** An alert box; kind is a Bootstrap contextual name (danger, warning, info, success). */
export function alertBox(kind, ...children) {
  return h("div", { class: ["alert", `alert-${kind}`], role: kind === "danger" ? "alert" : "status" }, ...children);
}

/** Page header: an h1 and optional actions on the right. */
export function pageHeader(title, ...actions) {
  return h(
    "div",
    { class: "d-flex flex-wrap align-items-center justify-content-between gap-2 mb-3" },
    h("h1", { class: "h3 mb-0" }, title),
    actions.length ? h("div", { class: "d-flex flex-wrap gap-2" }, ...actions) : null,
  );
}

/** A button; kind is a Bootstrap button variant (primary, outline-secondary, danger...). */
export function button(text, { kind = "primary", size = "", iconName = "", type = "button", ...attrs } = {}) {
  return h(
    "button",
    { type, class: ["btn", `btn-${kind}`, size ? `btn-${size}` : ""], ...attrs },
    iconName ? [icon(iconName, text ? "me-1" : ""), text] : text,
  );
}

/** Format an ISO date or a millisecond timestamp for people (locale-aware), "" for nothing. */
export function formatDate(value) {
  if (value === undefined || value === null || value === "") return "";
  const date = typeof value === "number" ? new Date(value) : new Date(String(value));
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

let idCounter = 0;
/** A unique element id (labels need them). */
export function uid(prefix = "bb") {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}
