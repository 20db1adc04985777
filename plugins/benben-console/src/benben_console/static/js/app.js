// The console's entry point: reads the boot data, restores the session (refresh cookie) or shows
// the login page, draws the frame and routes /admin/... paths to page modules (History API).
//
// A page module exports `async function render(root, ctx)` and may return a cleanup function.
// ctx = {client, params, query (URLSearchParams), navigate(path, {replace}), setQuery(params),
//        setTitle(text), toast(kind, text), config, capabilities, me, isAdmin, ui}
// where ui holds the shared components (dom, forms, dialogs, table, toast) for plugin pages,
// which cannot import the console's modules by a stable URL.
import * as dom from "./components/dom.js";
import * as forms from "./components/forms.js";
import * as dialogs from "./components/dialogs.js";
import * as table from "./components/table.js";
import * as toastModule from "./components/toast.js";
import * as session from "./session.js";
import { ROUTES, match } from "./routes.js";
import { renderBare, renderLayout } from "./layout.js";

const { h, clear, alertBox, spinner } = dom;
const config = JSON.parse(document.getElementById("console-config").textContent);
const app = document.getElementById("app");
const ui = { dom, forms, dialogs, table, toast: toastModule };

let client = null;
let capabilities = {};
let frame = null; // {main, update}
let framed = false; // the logged-in layout is drawn
let cleanup = null;
let renderSerial = 0;

function setTitle(text) {
  document.title = text ? `${text} · Benben console` : "Benben console";
}

function appPath(path) {
  // Pages speak of /admin/...; under a mount point (SCRIPT_NAME) the base differs.
  if (path.startsWith("/admin/") && config.base !== "/admin/") return config.base + path.slice("/admin/".length);
  if (path === "/admin") return config.base;
  return path;
}

export function navigate(path, { replace = false } = {}) {
  const target = appPath(path);
  if (replace) history.replaceState(null, "", target);
  else history.pushState(null, "", target);
  return render({ focus: true });
}

function setQuery(params) {
  const search = new URLSearchParams(params).toString();
  history.replaceState(null, "", `${location.pathname}${search ? `?${search}` : ""}`);
}

function pluginRoute(relative) {
  const m = /^plugins\/([^/]+)\/?$/.exec(relative);
  if (!m) return null;
  const page = (config.pages || []).find((p) => p.name === decodeURIComponent(m[1]));
  if (!page) return null;
  return { route: { path: relative, module: page.module, title: page.title, external: true, adminOnly: page.admin_only }, params: { name: page.name } };
}

async function loadModule(route) {
  return import(route.external ? route.module : new URL(route.module, import.meta.url).href);
}

async function render({ focus = false } = {}) {
  const serial = ++renderSerial;
  if (cleanup) {
    try {
      cleanup();
    } catch (error) {
      console.error(error);
    }
    cleanup = null;
  }
  const pathname = location.pathname;
  const relative = pathname.startsWith(config.base) ? pathname.slice(config.base.length) : "";
  let found = match(relative.replace(/\/$/, ""), ROUTES) || pluginRoute(relative);
  if (found?.route.public && session.accessToken() && found.route.path === "login") {
    return navigate(new URLSearchParams(location.search).get("next") || config.base, { replace: true });
  }
  if (!found?.route.public && !session.accessToken()) {
    const next = pathname + location.search;
    history.replaceState(null, "", `${config.base}login${next !== config.base ? `?next=${encodeURIComponent(next)}` : ""}`);
    found = match("login");
  }
  if (found?.route.public) {
    frame = renderBare(app);
    framed = false;
  } else if (!framed) {
    frame = renderLayout(app, { config, session, onLogout: logout });
    framed = true;
  }
  // Each render draws into an element of its own: a page still awaiting its data when the next
  // navigation comes (a record reloading itself after a restore) then draws into a detached
  // element instead of over the newer page.
  const main = frame.main;
  const root = h("div", { class: "bb-page" });
  clear(main, root);
  frame.update(pathname);
  if (!found) found = { route: { module: "./pages/notfound.js", title: "Not found" }, params: {} };
  setTitle(found.route.title);
  clear(root, spinner());
  const ctx = {
    client,
    params: found.params,
    query: new URLSearchParams(location.search),
    navigate,
    setQuery,
    setTitle,
    toast: toastModule.toast,
    config,
    capabilities,
    me: session.me(),
    isAdmin: session.isAdmin(),
    session,
    ui,
    onLogin: afterLogin,
  };
  try {
    const module = await loadModule(found.route);
    if (serial !== renderSerial) return undefined; // another navigation came first
    clear(root);
    if (found.route.adminOnly && !session.isAdmin()) {
      root.append(alertBox("warning", "This page is for administrators."));
    } else {
      const result = await module.render(root, ctx);
      if (serial === renderSerial && typeof result === "function") cleanup = result;
    }
  } catch (error) {
    if (serial !== renderSerial) return undefined;
    console.error(error);
    clear(
      root,
      h("h1", { class: "h3" }, "This page could not be shown"),
      alertBox("danger", error?.title || error?.message || String(error), error?.detail ? ` ${error.detail}` : ""),
    );
  }
  if (focus && serial === renderSerial) {
    // A new page starts at its top; focusing the main element must not scroll it (taller than the
    // window, it would be aligned under the sticky top bar, hiding the breadcrumb and heading).
    main.focus({ preventScroll: true });
    window.scrollTo({ top: 0, left: 0, behavior: "instant" });
  }
  return undefined;
}

async function loadCapabilities() {
  try {
    const rootDoc = await client.root();
    capabilities = rootDoc?.capabilities || {};
  } catch {
    capabilities = {};
  }
}

async function afterLogin(next) {
  await loadCapabilities();
  framed = false;
  return navigate(next || config.base, { replace: true });
}

async function logout() {
  try {
    await session.logout();
  } catch (error) {
    toastModule.toast("danger", `Logout failed: ${error?.message || error}`);
  }
}

function onClick(event) {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const a = event.target.closest?.("a[href]");
  if (!a || a.target || a.hasAttribute("download")) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith(config.base)) return;
  if (url.pathname.startsWith(`${config.base}static/`) || url.pathname.startsWith(`${config.base}session`)) return;
  event.preventDefault();
  if (url.pathname === location.pathname && url.search === location.search && url.hash) {
    location.hash = url.hash;
    return;
  }
  navigate(url.pathname + url.search);
}

async function boot() {
  const clientModule = await import(config.client);
  session.init(config, clientModule);
  client = new clientModule.Benben({
    baseUrl: "",
    refresh: async () => (await session.refresh()).access_token,
  });
  // The client asks the session for the token on each request: a refresh elsewhere is seen.
  Object.defineProperty(client, "accessToken", {
    get: () => session.accessToken(),
    set: (value) => session.setAccessToken(value),
    configurable: true,
  });
  session.onEnded(() => {
    framed = false;
    // A public page (login, setup) stays: a page load without a session ends one too.
    const relative = location.pathname.startsWith(config.base) ? location.pathname.slice(config.base.length) : "";
    if (match(relative.replace(/\/$/, ""), ROUTES)?.route.public) return;
    navigate(`${config.base}login`, { replace: true });
  });
  document.addEventListener("click", onClick);
  window.addEventListener("popstate", () => render({ focus: true }));
  try {
    if (await session.restore()) await loadCapabilities();
  } catch (error) {
    console.error(error);
  }
  await render();
}

boot().catch((error) => {
  console.error(error);
  clear(document.getElementById("main") || app, alertBox("danger", `The console could not start: ${error?.message || error}`));
});
