// One collection's attachment policy: usage, the limits that apply (the collection's own or the
// instance's), and the form setting them (PUT: the whole policy; an empty field is the
// instance's setting).
const UNITS = [
  [1024 ** 3, "GiB"],
  [1024 ** 2, "MiB"],
  [1024, "KiB"],
  [1, "bytes"],
];

/** Bytes for people: "5 MiB", "1.5 GiB", "300 bytes". */
export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return "";
  for (const [size, name] of UNITS) {
    if (bytes >= size || size === 1) {
      const value = bytes / size;
      return `${Number.isInteger(value) ? value : value.toFixed(1)} ${name}`;
    }
  }
  return `${bytes} bytes`;
}

/** A size field: a number and its unit (the largest one dividing the value exactly). */
function sizeField(ctx, { label, name, value, help }) {
  const { h, uid } = ctx.ui.dom;
  const id = uid(`f-${name}`);
  let unit = 1024 ** 2; // what people mostly mean, for an empty field
  if (value) unit = UNITS.find(([size]) => value % size === 0)[0];
  const number = h("input", {
    id,
    name,
    type: "number",
    class: "form-control",
    min: "0",
    step: "any",
    value: value === null || value === undefined ? "" : String(value / unit),
    aria: { describedby: `${id}-help` },
  });
  number.dataset.pointer = `/${name}`;
  const select = h(
    "select",
    { class: "form-select flex-grow-0 w-auto", name: `${name}_unit`, aria: { label: `Unit of ${label.toLowerCase()}` } },
    UNITS.map(([size, text]) => h("option", { value: String(size), selected: size === unit }, text)),
  );
  return h(
    "div",
    { class: "mb-3" },
    h("label", { class: "form-label", for: id }, label),
    h("div", { class: "input-group" }, number, select),
    h("div", { id: `${id}-help`, class: "form-text" }, help),
    // d-block: Bootstrap shows .invalid-feedback only right after an invalid control.
    h("div", { id: `${id}-error`, class: "invalid-feedback d-block" }),
  );
}

function bytesOf(values, name) {
  const n = values[name];
  if (n === null || n === undefined || Number.isNaN(n)) return null;
  return Math.round(n * Number(values[`${name}_unit`]));
}

/** A comma-separated list: empty is null (the instance's setting), "none" the empty list. */
function splitList(text) {
  if (String(text).trim().toLowerCase() === "none") return [];
  const items = String(text || "")
    .split(/[\s,]+/)
    .filter(Boolean);
  return items.length ? items : null;
}

/** The PUT body from the form; a JSON error in the schema is a problem on /schema. */
function policyBody(values) {
  let schema = null;
  if (values.schema.trim()) {
    try {
      schema = JSON.parse(values.schema);
    } catch (error) {
      throw { title: "The schema is not JSON.", errors: [{ pointer: "/schema", message: error.message }] };
    }
  }
  return {
    max_file_size: bytesOf(values, "max_file_size"),
    quota_bytes: bytesOf(values, "quota_bytes"),
    allowed_types: splitList(values.allowed_types),
    thumbnail_sizes: splitList(values.thumbnail_sizes),
    schema,
  };
}

function summary(ctx, policy) {
  const { h } = ctx.ui.dom;
  const eff = policy.effective || {};
  const whose = (member) => h("span", { class: "small text-body-secondary" }, policy[member] === null ? " (instance default)" : " (this collection's)");
  const used = policy.used_bytes;
  const quota = eff.quota_bytes;
  const rows = [
    ["Used by attachments", formatBytes(used), null],
    ["Largest file", formatBytes(eff.max_file_size), whose("max_file_size")],
    ["Quota", quota ? formatBytes(quota) : "No quota", whose("quota_bytes")],
    ["Allowed types", eff.allowed_types?.length ? eff.allowed_types.join(", ") : "Any type", whose("allowed_types")],
    ["Thumbnails", eff.thumbnails ? eff.thumbnail_sizes?.join(", ") || "None" : "Off on this instance", eff.thumbnails ? whose("thumbnail_sizes") : null],
    ["Attachments schema", policy.schema ? "Set" : "None", null],
  ];
  const meterId = `quota-meter-${Math.random().toString(36).slice(2)}`;
  return h(
    "section",
    { class: "card card-body mb-4", aria: { labelledby: "policy-effective" }, id: "policy-summary" },
    h("h2", { class: "h5", id: "policy-effective" }, "What applies now"),
    h(
      "dl",
      { class: "row mb-0" },
      rows.map(([term, value, source]) => [
        h("dt", { class: "col-sm-4 col-lg-3" }, term),
        h("dd", { class: "col-sm-8 col-lg-9", dataset: { term } }, value, source),
      ]),
    ),
    quota
      ? h(
          "div",
          { class: "mt-2" },
          h("label", { for: meterId, class: "form-label small mb-0" }, `${Math.min(100, Math.round((used / quota) * 100))}% of the quota used`),
          h("meter", { id: meterId, class: "w-100", min: "0", max: String(quota), high: String(Math.round(quota * 0.9)), value: String(Math.min(used, quota)) }),
        )
      : null,
  );
}

function policyForm(ctx, policy, onSaved) {
  const { h, button } = ctx.ui.dom;
  const { field, formError, onSubmit } = ctx.ui.forms;
  const form = h(
    "form",
    { aria: { labelledby: "policy-form-heading" } },
    h("h2", { class: "h5", id: "policy-form-heading" }, "This collection's policy"),
    h("p", { class: "text-body-secondary small" }, "An empty field takes the instance's setting. Changes apply to later uploads: files already attached are kept."),
    formError(),
    sizeField(ctx, {
      label: "Largest file",
      name: "max_file_size",
      value: policy.max_file_size,
      help: "At most the instance's benben.files.max_file_size.",
    }),
    sizeField(ctx, {
      label: "Quota",
      name: "quota_bytes",
      value: policy.quota_bytes,
      help: "What the collection's attachments may hold together; 0: no quota.",
    }),
    field({
      label: "Allowed types",
      name: "allowed_types",
      // An empty list (any type) reads as */*: an empty field would mean the instance's setting.
      value: policy.allowed_types === null ? "" : policy.allowed_types.join(", ") || "*/*",
      help: "Media types as sniffed from the content, comma-separated: image/*, application/pdf; */* for any type.",
      attrs: { autocomplete: "off", spellcheck: "false" },
    }),
    field({
      label: "Thumbnail sizes",
      name: "thumbnail_sizes",
      value: policy.thumbnail_sizes === null ? "" : policy.thumbnail_sizes.join(", ") || "none",
      help: "Comma-separated: WxH (cropped), WxHf (fitted), Wx0 or 0xH (keeping the aspect ratio); at most 2048 a side; none: no thumbnails.",
      attrs: { autocomplete: "off", spellcheck: "false" },
    }),
    field({
      label: "Attachments schema (JSON)",
      name: "schema",
      type: "textarea",
      value: policy.schema ? JSON.stringify(policy.schema, null, 2) : "",
      help: 'A JSON Schema of the record\'s attachments object, e.g. {"required": ["cover"], "maxProperties": 5}. Empty: none.',
      attrs: { class: "form-control bb-mono", rows: "6", spellcheck: "false" },
    }),
  );
  const reset = button("Use the instance's settings", { kind: "outline-secondary" });
  form.append(h("div", { class: "d-flex flex-wrap gap-2" }, button("Save policy", { type: "submit", iconName: "bi-check-lg" }), reset));
  const save = async (body) => {
    const saved = await ctx.client.collections.setAttachmentPolicy(policy.cid, body);
    ctx.toast("success", "Attachment policy saved.");
    onSaved(saved);
  };
  onSubmit(form, (values) => save(policyBody(values)));
  reset.addEventListener("click", async () => {
    const ok = await ctx.ui.dialogs.confirmDialog("Use the instance's settings", "Remove this collection's own limits, types, thumbnail sizes and schema?", { confirmText: "Remove", kind: "primary" });
    if (!ok) return;
    try {
      await save({});
    } catch (error) {
      ctx.ui.forms.showProblem(form, error);
    }
  });
  return form;
}

export async function renderPolicy(root, ctx, cid, pagePath) {
  const { h, pageHeader, clear } = ctx.ui.dom;
  ctx.setTitle(`Attachment policy of ${cid}`);
  const policy = await ctx.client.collections.attachmentPolicy(cid);
  const holder = h("div");
  const paint = (current) => {
    clear(holder, summary(ctx, current), policyForm(ctx, { ...current, cid }, paint));
  };
  paint(policy);
  root.append(
    h(
      "nav",
      { aria: { label: "Breadcrumb" } },
      h(
        "ol",
        { class: "breadcrumb" },
        h("li", { class: "breadcrumb-item" }, h("a", { href: pagePath(ctx) }, "Files")),
        h("li", { class: "breadcrumb-item" }, h("a", { href: `${ctx.config.base}collections/${encodeURIComponent(cid)}` }, cid)),
        h("li", { class: "breadcrumb-item active", aria: { current: "page" } }, "Attachment policy"),
      ),
    ),
    pageHeader(`Attachment policy: ${cid}`),
    holder,
  );
  return undefined;
}
