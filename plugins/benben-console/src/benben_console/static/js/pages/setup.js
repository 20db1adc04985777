// The first administrator, from the setup link `benben serve` printed while the instance has no
// user (/admin/setup#<token>: the token stays in the fragment, never sent to a server log).
// Creates the administrator through POST /api/v1/auth/setup, then logs in as them.
import { alertBox, h, icon } from "../components/dom.js";
import { field, formError, onSubmit, setFieldError } from "../components/forms.js";

async function setupNeeded(client) {
  const state = await client.request("GET", "/api/v1/auth/setup");
  return Boolean(state?.needed);
}

export async function render(root, ctx) {
  ctx.setTitle("Set up");
  const token = decodeURIComponent(location.hash.replace(/^#/, ""));
  if (!(await setupNeeded(ctx.client))) {
    root.append(
      alertBox("info", "This instance already has an administrator. "),
      h("a", { href: `${ctx.config.base}login`, class: "btn btn-primary" }, "Log in"),
    );
    return;
  }
  if (!token) {
    root.append(
      alertBox(
        "warning",
        "Open the setup link that ",
        h("code", {}, "benben serve"),
        " printed (it ends with a token after #), or create the first administrator on the server: ",
        h("code", {}, "benben users create --admin admin"),
        ".",
      ),
    );
    return;
  }
  const username = field({ label: "Username", name: "username", value: "admin", required: true, attrs: { autocomplete: "username", autocapitalize: "none", spellcheck: "false" } });
  const password = field({ label: "Password", name: "password", type: "password", required: true, help: "At least 12 characters.", attrs: { autocomplete: "new-password" } });
  const again = field({ label: "Password again", name: "again", type: "password", required: true, pointer: "/again", attrs: { autocomplete: "new-password" } });
  const form = h(
    "form",
    { class: "card card-body shadow-sm", aria: { labelledby: "setup-title" } },
    h("h1", { class: "h4 mb-3", id: "setup-title" }, icon("bi-person-gear", "me-2"), "Create the first administrator"),
    h("p", { class: "text-body-secondary" }, "This instance has no user yet. The administrator you create here manages everything else."),
    formError(),
    username,
    password,
    again,
    h("button", { type: "submit", class: "btn btn-primary w-100" }, "Create and log in"),
  );
  onSubmit(form, async (values) => {
    if (values.password !== values.again) {
      setFieldError(again.input, "The two passwords differ.");
      return;
    }
    await ctx.client.request("POST", "/api/v1/auth/setup", {
      json: { token, username: values.username, password: values.password },
    });
    history.replaceState(null, "", location.pathname); // the token has served
    await ctx.session.login(values.username, values.password);
    await ctx.onLogin(ctx.config.base);
  });
  root.append(form);
  username.input.focus();
}
