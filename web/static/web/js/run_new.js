// Start a run: a form generated from the chosen scenario's input JSON Schema.
"use strict";
(() => {
  const D = Deskhand;
  const form = document.getElementById("run-form");
  if (!form) return;
  const scenarios = D.readJson("scenarios-data");
  const select = document.getElementById("run-scenario");
  const fields = document.getElementById("run-input-fields");
  const errorBox = document.getElementById("run-form-error");
  let current = null;

  const title = (name) => name.replace(/[_-]+/g, " ").replace(/^./, (c) => c.toUpperCase());

  // One control per property: text, long text, choice, number, yes/no, list, or JSON for the rest.
  function control(name, schema, required) {
    const id = `input-${name}`;
    const hintId = `${id}-hint`;
    // A secret input (writeOnly or format: password) is typed by the agent but never shown or kept.
    const secret = schema.writeOnly === true || schema.format === "password";
    const hints = [schema.description, secret ? "Secret: typed by the agent, never shown to the model or kept." : null, schema.pattern && schema.pattern.startsWith("^https?") ? "An http or https address." : null,
      schema.type === "array" ? "One item per line." : null,
      (schema.minimum !== undefined || schema.maximum !== undefined) ? `From ${schema.minimum ?? "any"} to ${schema.maximum ?? "any"}.` : null,
      required ? "Required." : null].filter(Boolean);
    const common = { id, name, "data-field": `input.${name}`, "aria-describedby": hints.length ? hintId : undefined, required: required || undefined };
    const initial = schema.default;
    let input;
    if (Array.isArray(schema.enum)) {
      input = D.el("select", common, ...schema.enum.map((v) => D.el("option", { value: JSON.stringify(v), selected: v === initial, text: String(v) })));
      input.dataset.kind = "enum";
    } else if (schema.type === "boolean") {
      input = D.el("input", { ...common, type: "checkbox", checked: initial === true });
      input.dataset.kind = "boolean";
    } else if (schema.type === "integer" || schema.type === "number") {
      input = D.el("input", { ...common, type: "number", inputmode: "numeric", step: schema.type === "integer" ? "1" : "any", min: schema.minimum, max: schema.maximum, value: initial });
      input.dataset.kind = schema.type;
    } else if (schema.type === "array") {
      input = D.el("textarea", { ...common, rows: 3 });
      input.value = Array.isArray(initial) ? initial.join("\n") : "";
      input.dataset.kind = "array";
    } else if (schema.type === "string" || schema.type === undefined && !schema.properties) {
      const long = (schema.maxLength || 0) > 300 && !(schema.pattern || "").startsWith("^https?");
      input = long && !secret ? D.el("textarea", { ...common, rows: 3, maxlength: schema.maxLength }) : D.el("input", {
        ...common, type: secret ? "password" : (schema.pattern || "").startsWith("^https?") ? "url" : (schema.format === "email" || name === "email") ? "email" : "text",
        maxlength: schema.maxLength, minlength: schema.minLength, autocomplete: secret ? "new-password" : "off",
      });
      input.value = initial ?? "";
      input.dataset.kind = "string";
    } else {
      input = D.el("textarea", { ...common, rows: 4, spellcheck: "false" });
      input.value = initial !== undefined ? JSON.stringify(initial, null, 2) : "";
      input.dataset.kind = "json";
      hints.push("JSON.");
    }
    const label = D.el("label", { for: id, text: `${schema.title || title(name)}${required ? " (required)" : ""}` });
    if (schema.type === "boolean") {
      return D.el("div", {}, D.el("label", { class: "inline", for: id }, input, ` ${schema.title || title(name)}`), hints.length ? D.el("p", { class: "hint", id: hintId, text: hints.join(" ") }) : null);
    }
    return D.el("div", {}, label, input, hints.length ? D.el("p", { class: "hint", id: hintId, text: hints.join(" ") }) : null);
  }

  function show(scenarioId) {
    current = scenarios.find((s) => s.id === scenarioId) || scenarios[0];
    document.getElementById("run-scenario-description").textContent = current.description || "";
    const schema = current.inputSchema || {};
    const required = new Set(schema.required || []);
    const entries = Object.entries(schema.properties || {});
    fields.replaceChildren(...(entries.length ? entries.map(([name, s]) => control(name, s, required.has(name)))
      : [D.el("p", { class: "muted", text: "This scenario takes no input." })]));
    errorBox.hidden = true;
  }

  function collect() {
    const input = {};
    for (const node of fields.querySelectorAll("[data-field]")) {
      const name = node.name;
      const kind = node.dataset.kind;
      if (kind === "boolean") { input[name] = node.checked; continue; }
      if (kind === "enum") { input[name] = JSON.parse(node.value); continue; }
      const raw = node.value;
      if (raw === "" && !node.required) continue;
      if (kind === "integer" || kind === "number") input[name] = raw === "" ? raw : Number(raw);
      else if (kind === "array") input[name] = raw.split("\n").map((s) => s.trim()).filter(Boolean);
      else if (kind === "json") {
        try { input[name] = JSON.parse(raw); } catch { throw Object.assign(new Error(`${name}: not valid JSON`), { field: `input.${name}` }); }
      } else input[name] = raw;
    }
    return input;
  }

  function fail(message, field) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    for (const node of fields.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
    const target = field && fields.querySelector(`[data-field="${CSS.escape(field)}"]`);
    if (target) { target.setAttribute("aria-invalid", "true"); target.focus(); }
  }

  select.addEventListener("change", () => show(select.value));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = document.getElementById("run-start");
    let input;
    try { input = collect(); } catch (error) { fail(error.message, error.field); return; }
    button.disabled = true;
    try {
      const run = await D.api("/api/runs", { method: "POST", body: {
        scenarioId: current.id, authProvider: document.getElementById("run-provider").value,
        model: document.getElementById("run-model").value.trim() || undefined, input,
      } });
      window.location.assign(`/runs/${run.id}`);
    } catch (error) {
      fail(D.describeError(error), error.details && error.details.field);
      button.disabled = false;
    }
  });
  show(select.value);
})();
