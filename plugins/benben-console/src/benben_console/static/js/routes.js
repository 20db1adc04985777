// The console's routes: a path pattern under /admin/ -> the page module drawing it.
// Patterns: literal segments and ":name" parameters (decoded into ctx.params). First match wins.
// adminOnly pages show a notice to other users (the API refuses them anyway).

export const ROUTES = [
  { path: "", module: "./pages/home.js", title: "Home" },
  { path: "login", module: "./pages/login.js", title: "Log in", public: true },
  { path: "setup", module: "./pages/setup.js", title: "Set up", public: true },
  // The data pages (helper C2's modules).
  { path: "collections", module: "./pages/collections.js", title: "Collections" },
  { path: "collections/:cid", module: "./pages/collection.js", title: "Collection" },
  { path: "collections/:cid/records", module: "./pages/records.js", title: "Records" },
  { path: "collections/:cid/new", module: "./pages/record.js", title: "New record" },
  { path: "collections/:cid/records/:rid", module: "./pages/record.js", title: "Record" },
  { path: "collections/:cid/history", module: "./pages/history.js", title: "History" },
  // Accounts and the rest.
  { path: "users", module: "./pages/users.js", title: "Users", adminOnly: true },
  { path: "users/:uid", module: "./pages/user.js", title: "User" },
  { path: "groups", module: "./pages/groups.js", title: "Groups", adminOnly: true },
  { path: "groups/:gid", module: "./pages/group.js", title: "Group" },
  { path: "tokens", module: "./pages/tokens.js", title: "My API tokens" },
  { path: "plugins", module: "./pages/plugins.js", title: "Plugins" },
];

/** The route and its params for a path relative to /admin/ (no leading slash), or null. */
export function match(relative, routes = ROUTES) {
  const segments = relative.split("/").filter(Boolean);
  for (const route of routes) {
    const pattern = route.path.split("/").filter(Boolean);
    if (pattern.length !== segments.length) continue;
    const params = {};
    let ok = true;
    for (let i = 0; i < pattern.length && ok; i += 1) {
      if (pattern[i].startsWith(":")) {
        try {
          params[pattern[i].slice(1)] = decodeURIComponent(segments[i]);
        } catch {
          ok = false;
        }
      } else {
        ok = pattern[i] === segments[i];
      }
    }
    if (ok) return { route, params };
  }
  return null;
}
