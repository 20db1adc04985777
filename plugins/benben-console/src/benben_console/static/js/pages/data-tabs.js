// Tabs (WAI-ARIA tabs pattern, automatic activation): Bootstrap's nav-tabs look, the roles,
// aria-selected and aria-controls, arrow keys, Home and End; no Bootstrap JS. A panel is built
// the first time its tab opens (the history is not fetched until asked for).
import { h, uid } from "../components/dom.js";

/** tabs([{id, label, render() -> Node}], {initial}) -> element; element.select(id) opens one. */
export function tabs(items, { initial } = {}) {
  const prefix = uid("tab");
  const buttons = [];
  const panels = [];
  const built = new Set();
  const select = (id, focus = false) => {
    items.forEach((item, i) => {
      const on = item.id === id;
      buttons[i].setAttribute("aria-selected", String(on));
      buttons[i].tabIndex = on ? 0 : -1;
      buttons[i].classList.toggle("active", on);
      panels[i].hidden = !on;
      if (on && !built.has(id)) {
        built.add(id);
        panels[i].append(item.render());
      }
      if (on && focus) buttons[i].focus();
    });
  };
  items.forEach((item, i) => {
    const tabId = `${prefix}-${item.id}`;
    buttons.push(
      h(
        "button",
        {
          type: "button",
          role: "tab",
          id: tabId,
          class: "nav-link",
          dataset: { tab: item.id },
          aria: { controls: `${tabId}-panel`, selected: "false" },
          onclick: () => select(item.id),
        },
        item.label,
      ),
    );
    panels.push(h("div", { role: "tabpanel", id: `${tabId}-panel`, class: "pt-3", tabindex: 0, aria: { labelledby: tabId }, hidden: true }));
  });
  const list = h("div", { role: "tablist", class: "nav nav-tabs", aria: { label: "Record sections" } }, buttons);
  list.addEventListener("keydown", (event) => {
    const at = buttons.indexOf(document.activeElement);
    if (at < 0) return;
    const moves = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: buttons.length - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const to = (moves[event.key] + buttons.length) % buttons.length;
    select(items[to].id, true);
  });
  const element = h("div", { class: "bb-tabs" }, list, panels);
  element.select = select;
  select(initial && items.some((i) => i.id === initial) ? initial : items[0].id);
  return element;
}
