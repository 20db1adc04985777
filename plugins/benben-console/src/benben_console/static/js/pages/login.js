// The login page: username or email and password, errors next to the fields; a successful login
// goes to ?next= (a path of the console only) or home.
import { alertBox, h, icon } from "../components/dom.js";
import { field, formError, onSubmit } from "../components/forms.js";

export async function render(root, ctx) {
  ctx.setTitle("Log in");
  const login = field({ label: "Username or email", name: "login", required: true, attrs: { autocomplete: "username", autocapitalize: "none", spellcheck: "false" } });
  const password = field({ label: "Password", name: "password", type: "password", required: true, attrs: { autocomplete: "current-password" } });
  const form = h(
    "form",
    { class: "card card-body shadow-sm", aria: { labelledby: "login-title" } },
    h("h1", { class: "h4 mb-3", id: "login-title" }, icon("bi-box-arrow-in-right", "me-2"), "Log in to Benben"),
    formError(),
    login,
    password,
    h("button", { type: "submit", class: "btn btn-primary w-100" }, "Log in"),
  );
  onSubmit(form, async (values) => {
    await ctx.session.login(values.login, values.password);
    const next = ctx.query.get("next");
    // Only a path inside the console: never an open redirect to another site.
    const safe = next && next.startsWith(ctx.config.base) && !next.startsWith("//") ? next : ctx.config.base;
    await ctx.onLogin(safe);
  });
  let needed = false;
  try {
    needed = Boolean((await ctx.client.request("GET", "/api/v1/auth/setup"))?.needed);
  } catch {
    needed = false; // the hint below still says what to do
  }
  if (needed) {
    root.append(
      alertBox(
        "info",
        "No administrator yet: open the setup link ",
        h("code", {}, "benben serve"),
        " printed (",
        h("code", {}, "…/admin/setup#…"),
        ").",
      ),
    );
  }
  root.append(
    form,
    h(
      "p",
      { class: "text-body-secondary small mt-3" },
      "No account yet? An administrator creates one (",
      h("code", {}, "benben users create --admin NAME"),
      " on the server for the first).",
    ),
  );
  login.input.focus();
}
