// The console's frame: the top bar (menu button on phones, brand, theme toggle, account and
// logout) and the navigation, an offcanvas panel on small screens and a sidebar from `lg` up
// (Bootstrap's responsive offcanvas, opened and closed by its data attributes).
import { h, icon, clear } from "./components/dom.js";

const THEME_KEY = "benben-console-theme";

function currentTheme() {
  return document.documentElement.getAttribute("data-bs-theme") === "dark" ? "dark" : "light";
}

function themeButton() {
  const btn = h("button", { type: "button", class: "btn btn-outline-secondary btn-sm", id: "theme-toggle" });
  const paint = () => {
    const dark = currentTheme() === "dark";
    const label = dark ? "Switch to light theme" : "Switch to dark theme";
    clear(btn, icon(dark ? "bi-sun" : "bi-moon-stars"), h("span", { class: "visually-hidden" }, label));
    btn.setAttribute("title", label);
  };
  btn.addEventListener("click", () => {
    const next = currentTheme() === "dark" ? "light" : "dark";
    document.documentElement.setAttribute("data-bs-theme", next);
    try {
      localStorage.setItem(THEME_KEY, next);
    } catch {
      // storage disabled: the choice lasts until the page is left
    }
    paint();
  });
  paint();
  return btn;
}

function navLink(href, iconName, text) {
  return h(
    "li",
    { class: "nav-item" },
    h("a", { class: "nav-link d-flex align-items-center gap-2", href, dataset: { route: "", nav: "" } }, icon(iconName), text),
  );
}

function section(title, ...links) {
  const items = links.filter(Boolean);
  if (!items.length) return null;
  const id = `nav-${title.toLowerCase().replace(/[^a-z]+/g, "-")}`;
  return h(
    "div",
    { class: "mb-3" },
    h("h2", { class: "bb-nav-heading", id }, title),
    h("ul", { class: "nav nav-pills flex-column", aria: { labelledby: id } }, items),
  );
}

/**
 * Draw the frame into `app` for a logged-in user; returns {main, update(pathname)}.
 * `session` gives user() and isAdmin(); `onLogout` runs when the button is pressed.
 */
export function renderLayout(app, { config, session, onLogout }) {
  const base = config.base;
  const admin = session.isAdmin();
  const user = session.user();
  const pluginPages = (config.pages || []).filter((p) => admin || !p.admin_only);
  // The offcanvas panel is a div holding the <nav>: on phones Bootstrap gives the panel the dialog
  // role, which a <nav> may not take; it is named only while it is a dialog (a plain div may not
  // carry a name).
  const panel = h(
    "div",
    { id: "bb-nav", class: "offcanvas-lg offcanvas-start bb-sidebar border-end", tabindex: "-1" },
    h(
      "div",
      { class: "offcanvas-header" },
      h("h2", { class: "offcanvas-title h5", id: "bb-nav-title" }, "Navigation"),
      h("button", { type: "button", class: "btn-close", dataset: { bsDismiss: "offcanvas", bsTarget: "#bb-nav" }, aria: { label: "Close navigation" } }),
    ),
    h(
      "nav",
      { class: "offcanvas-body flex-column p-3", aria: { label: "Main" } },
      section("Overview", navLink(base, "bi-house", "Home")),
      section("Data", navLink(`${base}collections`, "bi-collection", "Collections")),
      admin ? section("Accounts", navLink(`${base}users`, "bi-people", "Users"), navLink(`${base}groups`, "bi-diagram-3", "Groups")) : null,
      section("You", navLink(`${base}tokens`, "bi-key", "My API tokens")),
      section(
        "Plugins",
        navLink(`${base}plugins`, "bi-plug", "Installed plugins"),
        ...pluginPages.map((p) => navLink(`${base}plugins/${encodeURIComponent(p.name)}`, p.icon || "bi-puzzle", p.title)),
      ),
    ),
  );
  panel.addEventListener("show.bs.offcanvas", () => panel.setAttribute("aria-labelledby", "bb-nav-title"));
  panel.addEventListener("hidden.bs.offcanvas", () => panel.removeAttribute("aria-labelledby"));
  const logout = h(
    "button",
    { type: "button", class: "btn btn-outline-secondary btn-sm", id: "logout", onclick: onLogout },
    icon("bi-box-arrow-right", "me-1"),
    "Log out",
  );
  const header = h(
    "header",
    { class: "navbar bg-body-tertiary border-bottom sticky-top" },
    h(
      "div",
      { class: "container-fluid gap-2" },
      h(
        "button",
        { type: "button", class: "btn btn-outline-secondary btn-sm d-lg-none", dataset: { bsToggle: "offcanvas", bsTarget: "#bb-nav" }, aria: { controls: "bb-nav", label: "Open navigation" } },
        icon("bi-list"),
      ),
      h("a", { class: "navbar-brand me-auto d-flex align-items-center gap-2", href: base, dataset: { route: "" } }, icon("bi-database"), "Benben"),
      h(
        "span",
        { class: "d-none d-sm-inline text-body-secondary small", id: "whoami" },
        icon("bi-person-circle", "me-1"),
        user?.display_name || user?.username || "",
        admin ? h("span", { class: "badge text-bg-secondary ms-1" }, "admin") : null,
      ),
      themeButton(),
      logout,
    ),
  );
  const main = h("main", { id: "main", class: "bb-main flex-grow-1 p-3 p-lg-4", tabindex: "-1" });
  clear(app, header, h("div", { class: "bb-body d-flex" }, panel, main));

  const update = (pathname) => {
    const links = [...panel.querySelectorAll("a[data-nav]")];
    const matches = (href) => (href === base ? pathname === base : pathname === href || pathname.startsWith(`${href}/`));
    // Only the most specific link is current: /admin/plugins/<name> is the plugin's page, not
    // "Installed plugins" (whose href is a prefix of it).
    const current = links
      .map((a) => a.getAttribute("href"))
      .filter(matches)
      .reduce((best, href) => (best === null || href.length > best.length ? href : best), null);
    for (const a of links) {
      const active = a.getAttribute("href") === current;
      a.classList.toggle("active", active);
      if (active) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    // A link followed on a phone closes the panel.
    globalThis.bootstrap?.Offcanvas?.getInstance(panel)?.hide();
  };
  return { main, update };
}

/** The frame without navigation, for the login page. */
export function renderBare(app) {
  const main = h("main", { id: "main", class: "bb-main bb-bare p-3", tabindex: "-1" });
  const header = h(
    "header",
    { class: "navbar bg-body-tertiary border-bottom" },
    h(
      "div",
      { class: "container-fluid" },
      h("span", { class: "navbar-brand d-flex align-items-center gap-2" }, icon("bi-database"), "Benben"),
      themeButton(),
    ),
  );
  clear(app, header, main);
  return { main, update: () => {} };
}
