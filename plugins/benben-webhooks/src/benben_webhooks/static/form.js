// The endpoint's create/edit dialog, the dialog showing a new secret once, and the small
// pieces the list and the endpoint page share (state badges, the page's own URL).
// The console's components come through ctx.ui: a plugin module has no stable URL for them.

/** The console path of this page, with `query` ({endpoint: id}...) when given. */
export function pagePath(ctx, query = {}) {
  const search = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== "")).toString();
  return `${ctx.config.base}plugins/webhooks${search ? `?${search}` : ""}`;
}

/** The endpoint's state as a badge: said in words, not by color alone. */
export function stateBadge(ctx, endpoint) {
  const { h, formatDate } = ctx.ui.dom;
  if (!endpoint.enabled) {
    const why = endpoint.disabled_reason ? `Disabled: ${endpoint.disabled_reason}` : "Disabled";
    return h("span", { class: "badge text-bg-secondary text-wrap" }, why);
  }
  if (endpoint.failing_since) {
    return h("span", { class: "badge text-bg-danger text-wrap" }, `Failing since ${formatDate(endpoint.failing_since)}`);
  }
  return h("span", { class: "badge text-bg-success" }, "Active");
}

/** "All" for an empty list (the API's meaning for collections), else the items as code chips. */
export function chips(ctx, items, empty = "All") {
  const { h } = ctx.ui.dom;
  if (!items || !items.length) return h("span", { class: "text-body-secondary" }, empty);
  return h("span", { class: "d-inline-flex flex-wrap gap-1" }, items.map((item) => h("code", { class: "bb-chip" }, item)));
}

function splitList(text) {
  return String(text || "")
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Up to 200 collection ids the caller may read, for the collections checkboxes. */
async function readableCollections(ctx) {
  const ids = [];
  try {
    for await (const c of ctx.client.collections.iterate({ _limit: 100 })) {
      ids.push(c.id);
      if (ids.length >= 200) break;
    }
  } catch {
    // Without the list, the endpoint's own collections are still shown and kept.
  }
  return ids;
}

function collectionsFieldset(ctx, all, checked) {
  const { h } = ctx.ui.dom;
  const { field } = ctx.ui.forms;
  const ids = [...new Set([...all, ...checked])];
  const boxes = ids.map((id, index) =>
    field({ label: id, name: `collection_${index}`, type: "checkbox", value: checked.includes(id), attrs: { dataset: { collection: id } } }),
  );
  const errorId = `webhook-collections-${Math.random().toString(36).slice(2)}-error`;
  return h(
    "fieldset",
    { class: "mb-3", dataset: { pointer: "/collections" }, id: errorId.slice(0, -6), tabindex: "-1" },
    h("legend", { class: "form-label fs-6" }, "Collections"),
    h(
      "p",
      { class: "form-text mt-0" },
      "Only events about the checked collections. None checked: every collection's events and the accounts' (administrators only).",
    ),
    boxes.length ? h("div", { class: "d-flex flex-wrap column-gap-4" }, boxes) : h("p", { class: "text-body-secondary" }, "No collection yet."),
    // d-block: Bootstrap shows .invalid-feedback only next to an invalid control, not inside one.
    h("div", { class: "invalid-feedback d-block", id: errorId }),
  );
}

/** The API body from the form's values (a PATCH body when editing: every member is sent). */
function endpointBody(values, form) {
  const checked = [...form.querySelectorAll("input[data-collection]")].filter((el) => el.checked);
  // The API's pointers count the checked boxes only (/collections/1: the second one sent).
  for (const el of form.querySelectorAll("input[data-collection]")) el.dataset.pointer = "/collections/-";
  checked.forEach((el, index) => {
    el.dataset.pointer = `/collections/${index}`;
  });
  const body = {
    url: values.url.trim(),
    description: values.description,
    event_types: splitList(values.event_types),
    collections: checked.map((el) => el.dataset.collection),
    enabled: values.enabled,
  };
  if (values.max_in_flight !== null && values.max_in_flight !== undefined) body.max_in_flight = values.max_in_flight;
  return body;
}

/**
 * The create (endpoint undefined) or edit dialog; resolves with the API's answer (the created
 * endpoint carries its secret) or undefined when cancelled.
 */
export async function endpointDialog(ctx, endpoint) {
  const { field } = ctx.ui.forms;
  const creating = !endpoint;
  const current = endpoint || { url: "", description: "", event_types: ["*"], collections: [], enabled: true };
  const all = await readableCollections(ctx);
  return ctx.ui.dialogs.formDialog({
    title: creating ? "New webhook endpoint" : "Edit webhook endpoint",
    submitText: creating ? "Create" : "Save",
    fields: [
      field({
        label: "URL",
        name: "url",
        type: "url",
        required: true,
        value: current.url,
        help: "Where Benben POSTs each event, signed (Standard Webhooks). https:// only.",
        attrs: { placeholder: "https://hooks.example.org/benben", autocomplete: "off", spellcheck: "false" },
      }),
      field({ label: "Description", name: "description", value: current.description, attrs: { maxlength: "500" } }),
      field({
        label: "Event types",
        name: "event_types",
        required: true,
        value: (current.event_types || []).join(", "),
        help: "Comma-separated: * (every event), an area (record.*, collection.*, user.*, group.*) or exact types such as record.created.",
        attrs: { autocomplete: "off", spellcheck: "false" },
      }),
      collectionsFieldset(ctx, all, current.collections || []),
      field({
        label: "Deliveries in flight at most",
        name: "max_in_flight",
        type: "number",
        value: creating ? "" : current.max_in_flight,
        help: "1 to 100; empty: the instance's setting.",
        attrs: { min: "1", max: "100", step: "1" },
      }),
      field({ label: "Enabled", name: "enabled", type: "switch", value: current.enabled }),
    ],
    onSubmit: (values, form) => {
      const body = endpointBody(values, form);
      return creating ? ctx.client.webhooks.create(body) : ctx.client.webhooks.update(endpoint.id, body);
    },
  });
}

/** Show a signing secret once (after creating an endpoint or rotating its secret). */
export function showSecret(ctx, endpoint, { rotated = false } = {}) {
  const { h, button } = ctx.ui.dom;
  const copy = button("Copy", { kind: "outline-secondary", size: "sm", iconName: "bi-clipboard" });
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(endpoint.secret);
      copy.textContent = "Copied";
    } catch {
      copy.textContent = "Select and copy by hand";
    }
  });
  const id = `webhook-secret-${Math.random().toString(36).slice(2)}`;
  return ctx.ui.dialogs.openDialog({
    title: rotated ? "New signing secret" : "Webhook endpoint created",
    body: [
      ctx.ui.dom.alertBox(
        "warning",
        "Copy the signing secret now: it is shown only this once. Your receiver checks each delivery's webhook-signature with it.",
        rotated && endpoint.previous_secret_expires_at
          ? ` The previous secret signs too until ${ctx.ui.dom.formatDate(endpoint.previous_secret_expires_at)}.`
          : "",
      ),
      h("label", { class: "form-label", for: id }, "Signing secret"),
      h("div", { class: "input-group mb-2" }, h("input", { id, class: "form-control bb-mono", readonly: true, value: endpoint.secret }), copy),
    ],
    actions: [{ text: "Done", kind: "primary", value: true }],
  }).closed;
}

/** Ask, then send a webhook.test event; resolves with the delivery or undefined. */
export async function sendTest(ctx, endpoint) {
  try {
    const delivery = await ctx.client.webhooks.test(endpoint.id);
    ctx.toast("success", "Test event queued: its delivery is in the log.");
    return delivery;
  } catch (error) {
    ctx.toast("danger", error.detail || error.message);
    return undefined;
  }
}

/** Ask, then delete the endpoint; resolves true when deleted. */
export async function deleteEndpoint(ctx, endpoint) {
  const ok = await ctx.ui.dialogs.confirmDialog(
    "Delete webhook endpoint",
    `Delete the endpoint ${endpoint.url}? Its delivery log goes with it.`,
    { confirmText: "Delete" },
  );
  if (!ok) return false;
  try {
    await ctx.client.webhooks.delete(endpoint.id);
    ctx.toast("success", "Endpoint deleted.");
    return true;
  } catch (error) {
    ctx.toast("danger", error.detail || error.message);
    return false;
  }
}
