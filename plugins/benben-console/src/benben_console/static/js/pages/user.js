// One user: profile, administrator flag, activation, password, groups, deletion. A user sees
// their own account here too (what they may change: name, email, password).
import { h, pageHeader, button, link, formatDate, alertBox } from "../components/dom.js";
import { field, formError, onSubmit } from "../components/forms.js";
import { confirmDialog } from "../components/dialogs.js";
import { userBody, userFields } from "./users.js";

function facts(user, base) {
  const row = (term, value) => [h("dt", { class: "col-sm-3" }, term), h("dd", { class: "col-sm-9" }, value)];
  return h(
    "dl",
    { class: "row mb-4" },
    row("Id", h("code", {}, user.id)),
    row("Groups", user.groups?.length ? user.groups.map((g, i) => [i ? ", " : "", link(`${base}groups/${encodeURIComponent(g)}`, g)]) : "None"),
    row("Created", formatDate(user.created_at)),
    row("Last login", formatDate(user.last_login_at) || "Never"),
  );
}

export async function render(root, ctx) {
  const user = await ctx.client.users.get(ctx.params.uid);
  const self = ctx.me?.user?.id === user.id;
  ctx.setTitle(`User ${user.username}`);
  const profileFields = ctx.isAdmin
    ? userFields(user)
    : userFields(user).filter((f) => !["is_admin", "is_active"].includes(f.input.name));
  const profile = h(
    "form",
    { class: "card card-body mb-4", aria: { labelledby: "profile-title" } },
    h("h2", { class: "h5", id: "profile-title" }, "Profile"),
    formError(),
    profileFields,
    h("div", {}, h("button", { type: "submit", class: "btn btn-primary" }, "Save")),
  );
  onSubmit(profile, async (values) => {
    await ctx.client.users.update(user.id, userBody(values));
    ctx.toast("success", "Saved.");
    ctx.navigate(location.pathname, { replace: true });
  });

  const passwordFields = [
    self ? field({ label: "Current password", name: "current_password", type: "password", required: true, attrs: { autocomplete: "current-password" } }) : null,
    field({ label: "New password", name: "password", type: "password", required: true, attrs: { autocomplete: "new-password" } }),
  ].filter(Boolean);
  const password = h(
    "form",
    { class: "card card-body mb-4", aria: { labelledby: "password-title" } },
    h("h2", { class: "h5", id: "password-title" }, self ? "Change your password" : "Set a new password"),
    h("p", { class: "small text-body-secondary" }, self ? "Your other sessions end; this one goes on." : "Every session of this user ends."),
    formError(),
    passwordFields,
    h("div", {}, h("button", { type: "submit", class: "btn btn-primary" }, "Change password")),
  );
  onSubmit(password, async (values) => {
    const answer = await ctx.client.users.update(user.id, values);
    // Changing one's own password refuses older access tokens: the answer carries a new one.
    if (answer?.session?.access_token) ctx.session.setAccessToken(answer.session.access_token);
    password.reset();
    ctx.toast("success", "Password changed.");
  });

  const actions = [];
  if (ctx.isAdmin && !self) {
    actions.push(
      button("Delete user", {
        kind: "outline-danger",
        iconName: "bi-trash",
        onclick: async () => {
          if (!(await confirmDialog("Delete user", `Delete ${user.username}? Their tokens go with them. Deactivating keeps the account instead.`, { confirmText: "Delete" }))) return;
          try {
            await ctx.client.users.delete(user.id);
            ctx.toast("success", `User ${user.username} deleted.`);
            ctx.navigate(`${ctx.config.base}users`);
          } catch (error) {
            ctx.toast("danger", error.message);
          }
        },
      }),
    );
  }
  root.append(
    pageHeader(user.display_name ? `${user.display_name} (${user.username})` : user.username, ...actions),
    user.is_active ? null : alertBox("warning", "This account is deactivated: it cannot log in."),
    facts(user, ctx.config.base),
    h("div", { class: "row g-4" }, h("div", { class: "col-lg-6" }, profile), h("div", { class: "col-lg-6" }, password)),
  );
}
