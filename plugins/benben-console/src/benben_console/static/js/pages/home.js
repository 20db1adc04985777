// Home: version, health, plugins, counts, and (administrators) the change feed's latest events.
import { h, pageHeader, link, icon, formatDate, alertBox, spinner, clear } from "../components/dom.js";
import { dataTable } from "../components/table.js";

function card(title, body, iconName) {
  return h(
    "div",
    { class: "col" },
    h("section", { class: "card h-100", aria: { label: title } }, h("div", { class: "card-body" }, h("h2", { class: "h6 text-body-secondary" }, icon(iconName, "me-1"), title), body)),
  );
}

async function count(fetchPage) {
  try {
    const page = await fetchPage();
    return page.total ?? page.data.length;
  } catch {
    return null;
  }
}

/** The feed reads forwards only: walk it (large pages) and keep the last few events. */
async function latestEvents(client, keep = 10, maxPages = 20) {
  let page = await client.events.list({ _limit: 1000 });
  let last = page.data;
  for (let i = 0; i < maxPages && page.data.length === 1000; i += 1) {
    page = await client.request("GET", page.next);
    if (page.data.length) last = [...last, ...page.data].slice(-keep);
  }
  return last.slice(-keep).reverse();
}

function describe(event) {
  const d = event.data || {};
  if (d.collection && d.id) return `${d.collection} / ${d.id}`;
  if (d.collection) return d.collection;
  return d.username || d.name || d.id || "";
}

export async function render(root, ctx) {
  ctx.setTitle("Home");
  const user = ctx.me?.user;
  const stats = h("div", { class: "row row-cols-1 row-cols-sm-2 row-cols-xl-4 g-3 mb-4" });
  const healthBody = spinner("Checking…");
  const collectionsBody = spinner();
  const usersBody = ctx.isAdmin ? spinner() : null;
  stats.append(
    card("Version", h("div", { class: "bb-stat" }, ctx.config.version), "bi-info-circle"),
    card("Health", healthBody, "bi-heart-pulse"),
    card("Collections", collectionsBody, "bi-collection"),
    usersBody ? card("Users", usersBody, "bi-people") : null,
  );
  const activity = h("section", { aria: { labelledby: "activity-title" } });
  root.append(
    pageHeader(`Welcome${user ? `, ${user.display_name || user.username}` : ""}`),
    stats,
    h(
      "section",
      { class: "mb-4", aria: { labelledby: "plugins-title" } },
      h("h2", { class: "h5", id: "plugins-title" }, "Plugins"),
      h(
        "p",
        {},
        (ctx.config.plugins || []).length
          ? (ctx.config.plugins || []).map((p, i) => [i ? ", " : "", h("strong", {}, p.name), ` ${p.version}`])
          : "None.",
        " ",
        link(`${ctx.config.base}plugins`, "Details"),
      ),
    ),
    activity,
  );

  const health = ctx.client.health().catch((error) => ({ status: "unreachable", error }));
  health.then((report) => {
    const ok = report.status === "ok" || report.status === "ready";
    clear(healthBody, h("div", { class: ["bb-stat", ok ? "text-success-emphasis" : "text-warning-emphasis"] }, report.status || "unknown"));
  });
  count(() => ctx.client.collections.list({ _limit: 1, _count: true })).then((n) => {
    clear(collectionsBody, h("div", { class: "bb-stat" }, n ?? "–"), link(`${ctx.config.base}collections`, "Browse collections"));
  });
  if (usersBody) {
    count(() => ctx.client.users.list({ _limit: 1, _count: true })).then((n) => {
      clear(usersBody, h("div", { class: "bb-stat" }, n ?? "–"), link(`${ctx.config.base}users`, "Manage users"));
    });
  }
  if (ctx.isAdmin) {
    activity.append(h("h2", { class: "h5", id: "activity-title" }, "Recent activity"), spinner());
    try {
      const events = await latestEvents(ctx.client);
      clear(
        activity,
        h("h2", { class: "h5", id: "activity-title" }, "Recent activity"),
        dataTable({
          caption: "The latest changes, newest first",
          empty: "Nothing has happened yet.",
          rows: events,
          columns: [
            { title: "When", render: (e) => formatDate(e.timestamp) },
            { title: "Event", render: (e) => h("code", {}, e.type) },
            { title: "What", render: describe },
          ],
        }),
      );
    } catch (error) {
      clear(activity, h("h2", { class: "h5", id: "activity-title" }, "Recent activity"), alertBox("warning", error.message));
    }
  }
}
