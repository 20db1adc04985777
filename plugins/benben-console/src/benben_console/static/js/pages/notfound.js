// Any /admin/ path no route matches.
import { h, link, icon } from "../components/dom.js";

export async function render(root, ctx) {
  ctx.setTitle("Not found");
  root.append(
    h("h1", { class: "h3" }, "Page not found"),
    h("p", {}, "There is no console page at ", h("code", {}, location.pathname), "."),
    link(ctx.config.base, icon("bi-house", "me-1"), "Back to the home page"),
  );
}
