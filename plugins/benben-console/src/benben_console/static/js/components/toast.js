// Toasts: short notices after an action ("Saved", "Token revoked"). A polite live region so screen
// readers hear them; errors use role=alert.
import { h, icon } from "./dom.js";

const ICONS = {
  success: "bi-check-circle",
  danger: "bi-exclamation-triangle",
  warning: "bi-exclamation-circle",
  info: "bi-info-circle",
};

function container() {
  let el = document.getElementById("toasts");
  if (!el) {
    el = h("div", { id: "toasts", class: "toast-container position-fixed bottom-0 end-0 p-3" });
    document.body.append(el);
  }
  return el;
}

/** toast("success" | "danger" | "warning" | "info", text) */
export function toast(kind, text) {
  const close = h("button", { type: "button", class: "btn-close me-2 m-auto", aria: { label: "Close" } });
  const el = h(
    "div",
    {
      class: ["toast", "align-items-center", "show", `text-bg-${kind in ICONS ? kind : "info"}`, "border-0"],
      role: kind === "danger" ? "alert" : "status",
      aria: { live: kind === "danger" ? "assertive" : "polite", atomic: "true" },
    },
    h(
      "div",
      { class: "d-flex" },
      h("div", { class: "toast-body" }, icon(ICONS[kind] || ICONS.info, "me-2"), text),
      close,
    ),
  );
  const remove = () => el.remove();
  close.addEventListener("click", remove);
  container().append(el);
  setTimeout(remove, kind === "danger" ? 10000 : 5000);
  return el;
}
