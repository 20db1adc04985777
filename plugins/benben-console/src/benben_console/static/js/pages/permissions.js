// The permissions editor of a collection (read, create, write, admin) or a record (read, write):
// principals as removable chips, added by typing a principal or looking a user or group up.
// Users show their username (principals carry ids, which never change; names can).
import { h, clear, icon, button, uid } from "../components/dom.js";
import * as api from "./data-api.js";

export const COLLECTION_PERMISSIONS = [
  ["read", "Read", "See the collection, read every record and the history"],
  ["create", "Create", "See the collection and create records (their creator may write them)"],
  ["write", "Write", "Everything above, write every record, change the collection (not its permissions)"],
  ["admin", "Admin", "Everything above, change permissions, delete the collection"],
];
export const RECORD_PERMISSIONS = [
  ["read", "Read", "Read this record"],
  ["write", "Write", "Read and change this record's data"],
];

const PRINCIPAL = /^(system\.Everyone|system\.Authenticated|role:admin|user:\S+|group:\S+)$/;
const SHORTCUTS = [
  ["system.Authenticated", "Anyone logged in"],
  ["system.Everyone", "Anyone, even anonymous"],
  ["role:admin", "Administrators"],
];

/** A principal for people: "alice (user)" for a user whose name is known, else the principal. */
function principalLabel(principal, names) {
  if (principal.startsWith("user:") && names.has(principal)) return `${names.get(principal)} (user)`;
  const shortcut = SHORTCUTS.find(([p]) => p === principal);
  return shortcut ? `${shortcut[1]} (${principal})` : principal;
}

/**
 * permissionsEditor({client, kinds, permissions, canEdit, onSave}) -> element.
 * kinds: COLLECTION_PERMISSIONS or RECORD_PERMISSIONS. onSave(permissions) sends them (may throw
 * a ProblemError, shown in the editor). Without canEdit the chips are read-only.
 */
export function permissionsEditor({ client, kinds, permissions, canEdit = true, onSave }) {
  const state = Object.fromEntries(kinds.map(([kind]) => [kind, [...(permissions?.[kind] || [])]]));
  const names = new Map();
  const status = h("div", { class: "mt-2", role: "status", aria: { live: "polite" } });
  const rows = h("div", { class: "d-grid gap-3" });
  const listId = uid("principals");
  const datalist = h("datalist", { id: listId }, SHORTCUTS.map(([p, text]) => h("option", { value: p }, text)));

  const resolveNames = async () => {
    const ids = Object.values(state)
      .flat()
      .filter((p) => p.startsWith("user:") && !names.has(p));
    for (const principal of new Set(ids)) {
      const user = await api.userName(client, principal.slice(5));
      if (user) names.set(principal, user);
    }
    if (ids.length) draw();
  };

  const chip = (kind, principal) =>
    h(
      "span",
      { class: "badge rounded-pill text-bg-light border d-inline-flex align-items-center gap-1 bb-chip" },
      h("span", {}, principalLabel(principal, names)),
      canEdit
        ? h(
            "button",
            {
              type: "button",
              class: "btn btn-sm btn-link p-0 text-body",
              aria: { label: `Remove ${principalLabel(principal, names)} from ${kind}` },
              onclick: () => {
                state[kind] = state[kind].filter((p) => p !== principal);
                draw();
              },
            },
            icon("bi-x-lg"),
          )
        : null,
    );

  const adder = (kind, label) => {
    const id = uid(`add-${kind}`);
    const input = h("input", {
      id,
      class: "form-control form-control-sm",
      list: listId,
      placeholder: "group:staff, user:…, or a user name",
      autocomplete: "off",
    });
    const add = async () => {
      const text = input.value.trim();
      if (!text) return;
      const principal = await api.toPrincipal(client, text, names);
      if (!principal || !PRINCIPAL.test(principal)) {
        clear(status, h("span", { class: "text-danger" }, `“${text}” is not a principal, a user or a group.`));
        return;
      }
      if (!state[kind].includes(principal)) state[kind].push(principal);
      input.value = "";
      draw();
      document.getElementById(id)?.focus();
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        add();
      }
    });
    input.addEventListener("input", () => suggest(input.value));
    return h(
      "div",
      { class: "input-group input-group-sm mt-1 bb-principal-add" },
      h("label", { class: "visually-hidden", for: id }, `Add a principal to ${label}`),
      input,
      button("Add", { kind: "outline-secondary", size: "sm", iconName: "bi-plus", onclick: add }),
    );
  };

  // Users and groups matching what is typed, for administrators (others get 403: no suggestions).
  let lastPrefix = "";
  const suggest = async (text) => {
    const prefix = text.trim().replace(/^(user|group):/, "");
    if (prefix.length < 2 || prefix === lastPrefix || prefix.includes(":")) return;
    lastPrefix = prefix;
    const found = await api.searchPrincipals(client, prefix);
    for (const { principal, label } of found) {
      if (principal.startsWith("user:")) names.set(principal, label);
      if (![...datalist.options].some((o) => o.value === principal)) {
        datalist.append(h("option", { value: principal }, `${label} (${principal.split(":")[0]})`));
      }
    }
  };

  const draw = () => {
    clear(
      rows,
      kinds.map(([kind, label, help]) =>
        h(
          "div",
          { class: "bb-permission-row", dataset: { permission: kind } },
          h("div", { class: "fw-semibold" }, label),
          h("div", { class: "form-text mt-0 mb-1" }, help),
          state[kind].length
            ? h("ul", { class: "list-unstyled d-flex flex-wrap gap-1 mb-0", aria: { label: `${label} principals` } }, state[kind].map((p) => h("li", {}, chip(kind, p))))
            : h("p", { class: "text-body-secondary small mb-0" }, "Nobody besides the creator and administrators"),
          canEdit ? adder(kind, label) : null,
        ),
      ),
    );
  };

  const save = button("Save permissions", {
    kind: "primary",
    size: "sm",
    iconName: "bi-shield-check",
    onclick: async () => {
      save.disabled = true;
      clear(status);
      try {
        const body = Object.fromEntries(Object.entries(state).filter(([, list]) => list.length));
        await onSave(body);
        clear(status, h("span", { class: "text-success" }, "Permissions saved."));
      } catch (error) {
        const where = (error.errors || []).map((e) => `${e.pointer || e.name || ""}: ${e.message}`).join("; ");
        clear(status, h("span", { class: "text-danger" }, error.detail || error.title || error.message, where ? ` (${where})` : ""));
      } finally {
        save.disabled = false;
      }
    },
  });
  draw();
  resolveNames();
  return h("div", { class: "bb-permissions" }, datalist, rows, canEdit ? h("div", { class: "mt-3" }, save) : null, status);
}
