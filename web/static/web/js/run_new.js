// Start a run: a form generated from the chosen scenario's input JSON Schema. Every field is typed
// by its schema and checked against it before sending, and every problem, the page's or the
// API's, is shown at its field in plain words.
"use strict";
(() => {
  const D = Deskhand;
  const form = document.getElementById("run-form");
  if (!form) return;
  const scenarios = D.readJson("scenarios-data");
  // "Replay it with another input" on a run's page: that run's recording, and its input to start from.
  const replayOf = D.readJson("replay-of-data");
  const select = document.getElementById("run-scenario");
  const fields = document.getElementById("run-input-fields");
  const errorBox = document.getElementById("run-form-error");
  let current = null;

  // "submit_note" -> "Submit note", "url" -> "URL": a name as a label when the schema has no title.
  const ACRONYMS = { url: "URL", uri: "URI", id: "ID", api: "API", os: "OS", cpu: "CPU" };
  const labelOf = (name, schema) => schema.title || name.split(/[_-]+/).map((w, i) => ACRONYMS[w.toLowerCase()]
    || (i === 0 ? w.charAt(0).toUpperCase() + w.slice(1) : w)).join(" ");
  const isUrl = (schema) => schema.format === "uri" || schema.format === "url" || (schema.pattern || "").startsWith("^https?");
  const isEmail = (schema) => schema.format === "email";
  const isNumber = (schema) => schema.type === "integer" || schema.type === "number";
  const chars = (n) => `${n} character${n === 1 ? "" : "s"}`;

  // What the schema allows, in words, for the hint under a field.
  function rules(schema) {
    const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + (schema.type === "integer" ? 1 : 0) : undefined);
    const max = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - (schema.type === "integer" ? 1 : 0) : undefined);
    if (isNumber(schema)) {
      const whole = schema.type === "integer" ? "A whole number" : "A number";
      if (min !== undefined && max !== undefined) return `${whole} from ${min} to ${max}.`;
      if (min !== undefined) return `${whole}, ${min} or more.`;
      if (max !== undefined) return `${whole}, ${max} or less.`;
      return `${whole}.`;
    }
    if (isUrl(schema)) return "A web address starting with http:// or https://.";
    if (isEmail(schema)) return "An e-mail address such as name@example.com.";
    if (schema.type === "array") return "One item per line.";
    return "";
  }

  // The first problem with a value (already parsed to its type), in plain words; "" when it fits.
  function problemWith(value, schema, required) {
    const empty = value === undefined || value === "" || (Array.isArray(value) && !value.length);
    // An optional field left empty is not sent: its default applies.
    if (empty) return required ? "This field is required." : "";
    if (Number.isNaN(value)) return schema.type === "integer" ? "Enter a whole number, such as 3." : "Enter a number, such as 3.";
    if (isNumber(schema)) {
      if (schema.type === "integer" && !Number.isInteger(value)) return "Enter a whole number, such as 3.";
      const hint = rules(schema);
      if (schema.minimum !== undefined && value < schema.minimum) return `Too small: ${hint.charAt(0).toLowerCase()}${hint.slice(1)}`;
      if (schema.maximum !== undefined && value > schema.maximum) return `Too large: ${hint.charAt(0).toLowerCase()}${hint.slice(1)}`;
      if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) return `Enter more than ${schema.exclusiveMinimum}.`;
      if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) return `Enter less than ${schema.exclusiveMaximum}.`;
      return "";
    }
    if (Array.isArray(schema.enum) && !schema.enum.includes(value)) return "Choose one of the options.";
    if (typeof value === "string") {
      if (isEmail(schema) && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)) return "Enter an e-mail address such as name@example.com.";
      if (isUrl(schema) && !/^https?:\/\/\S+$/.test(value)) return "Enter a web address that starts with http:// or https://, such as https://example.com/form.";
      if (schema.minLength && value.length < schema.minLength) return `Use at least ${chars(schema.minLength)}.`;
      if (schema.maxLength && value.length > schema.maxLength) return `Use at most ${chars(schema.maxLength)} (this has ${value.length}).`;
      if (schema.pattern && !isUrl(schema) && !new RegExp(schema.pattern, "u").test(value)) {
        return schema.description ? `This does not have the expected form: ${schema.description}` : "This does not have the expected form.";
      }
    }
    if (Array.isArray(value)) {
      if (schema.minItems && value.length < schema.minItems) return `Give at least ${schema.minItems} item${schema.minItems === 1 ? "" : "s"}.`;
      if (schema.maxItems && value.length > schema.maxItems) return `Give at most ${schema.maxItems} item${schema.maxItems === 1 ? "" : "s"}.`;
    }
    return "";
  }

  // One control per property, typed by its schema: a choice, yes/no, a number, an address, an
  // e-mail, one line or several, a list, or JSON for the rest.
  // The mode switch: autopilot by default for a scenario marked so; a replay of the run the form was
  // opened for while its scenario is chosen.
  function showMode() {
    const fixed = replayOf && replayOf.scenarioId === current.id;
    const mode = fixed ? "replay" : current.autopilot ? "auto" : "model";
    for (const radio of form.querySelectorAll('input[name="mode"]')) radio.checked = radio.value === mode;
    document.getElementById("run-mode-hint").textContent = fixed
      ? `Replays run ${replayOf.id}: its clicks are aimed where their targets are now, the inputs you change are typed instead of its own, and the model takes over only where the screen differs.`
      : current.autopilot ? "This scenario is on autopilot: a succeeded run of it is replayed without the model when its typed inputs can be re-filled." : "";
  }

  function modeChosen() {
    const radio = form.querySelector('input[name="mode"]:checked');
    return radio ? radio.value : undefined;
  }

  function control(name, schema, required) {
    const id = `input-${name}`;
    // A secret input (writeOnly or format: password) is typed by the agent but never shown or kept.
    const secret = schema.writeOnly === true || schema.format === "password";
    const hint = [schema.description, secret ? "Secret: typed by the agent, never shown to the model or kept." : null, rules(schema)].filter(Boolean).join(" ");
    const describedBy = [hint ? `${id}-hint` : "", `${id}-error`].filter(Boolean).join(" ");
    const common = { id, name, "data-field": `input.${name}`, "aria-describedby": describedBy, "aria-required": required ? "true" : undefined };
    const initial = replayOf && replayOf.scenarioId === current.id && name in replayOf.input ? replayOf.input[name] : schema.default;
    let input;
    if (Array.isArray(schema.enum)) {
      input = D.el("select", common, ...schema.enum.map((v) => D.el("option", { value: JSON.stringify(v), selected: v === initial, text: String(v) })));
      input.dataset.kind = "enum";
    } else if (schema.type === "boolean") {
      input = D.el("input", { ...common, type: "checkbox", checked: initial === true });
      input.dataset.kind = "boolean";
    } else if (isNumber(schema)) {
      input = D.el("input", { ...common, type: "number", inputmode: schema.type === "integer" ? "numeric" : "decimal", step: schema.type === "integer" ? "1" : "any", min: schema.minimum, max: schema.maximum, value: initial });
      input.dataset.kind = schema.type;
    } else if (schema.type === "array") {
      input = D.el("textarea", { ...common, rows: 3 });
      input.value = Array.isArray(initial) ? initial.join("\n") : "";
      input.dataset.kind = "array";
    } else if (schema.type === "string" || (schema.type === undefined && !schema.properties)) {
      // Long free text gets several lines; addresses, names, paths, e-mails and secrets one.
      const long = (schema.maxLength || 0) > 1000 && !isUrl(schema) && !isEmail(schema) && !secret;
      input = long ? D.el("textarea", { ...common, rows: 4 }) : D.el("input", {
        ...common, type: secret ? "password" : isUrl(schema) ? "url" : isEmail(schema) ? "email" : "text",
        autocomplete: secret ? "new-password" : isEmail(schema) ? "email" : "off", spellcheck: isUrl(schema) || isEmail(schema) ? "false" : undefined,
        placeholder: isUrl(schema) ? "https://" : isEmail(schema) ? "name@example.com" : undefined,
      });
      input.value = initial ?? "";
      input.dataset.kind = "string";
    } else {
      input = D.el("textarea", { ...common, rows: 4, spellcheck: "false" });
      input.value = initial !== undefined ? JSON.stringify(initial, null, 2) : "";
      input.dataset.kind = "json";
    }
    // A field marked wrong is checked again as it is edited, so the mark goes once it is right. A
    // new problem waits for "Start": a message appearing on blur would move the button under the
    // pointer between press and release.
    input.addEventListener("input", () => {
      if (input.getAttribute("aria-invalid") === "true") showAt(input, problemWith(valueOf(input), schema, required));
    });
    const hintNode = hint ? D.el("p", { class: "hint", id: `${id}-hint`, text: hint }) : null;
    const errorNode = D.el("p", { class: "field-error", id: `${id}-error`, hidden: true });
    const label = labelOf(name, schema);
    if (schema.type === "boolean") {
      return D.el("div", { class: "field" }, D.el("label", { class: "inline", for: id }, input, ` ${label}`), hintNode, errorNode);
    }
    return D.el("div", { class: "field" }, D.el("label", { for: id, text: `${label}${required ? " (required)" : ""}` }), input, hintNode, errorNode);
  }

  // A control's value in the schema's type (NaN for a number that is not one, undefined when empty).
  function valueOf(node) {
    const kind = node.dataset.kind;
    if (kind === "boolean") return node.checked;
    if (kind === "enum") return JSON.parse(node.value);
    const raw = node.value;
    if (raw.trim() === "") return undefined;
    if (kind === "integer" || kind === "number") return Number(raw);
    if (kind === "array") return raw.split("\n").map((s) => s.trim()).filter(Boolean);
    if (kind === "json") {
      try { return JSON.parse(raw); } catch { return Symbol.for("invalid-json"); }
    }
    return raw;
  }

  // Show (or clear) a problem at one control: the words under it, the control marked invalid.
  function showAt(node, message) {
    const box = document.getElementById(`${node.id}-error`);
    if (box) { box.textContent = message; box.hidden = !message; }
    if (message) node.setAttribute("aria-invalid", "true"); else node.removeAttribute("aria-invalid");
  }

  function clearProblems() {
    for (const node of form.querySelectorAll("[data-field]")) showAt(node, "");
    errorBox.hidden = true;
  }

  function show(scenarioId) {
    current = scenarios.find((s) => s.id === scenarioId) || scenarios[0];
    document.getElementById("run-scenario-description").textContent = current.description || "";
    const schema = current.inputSchema || {};
    const required = new Set(schema.required || []);
    const entries = Object.entries(schema.properties || {});
    fields.replaceChildren(...(entries.length ? entries.map(([name, s]) => control(name, s, required.has(name)))
      : [D.el("p", { class: "muted", text: "This scenario takes no input." })]));
    showMode();
    clearProblems();
  }

  // The input as the API wants it, and the problems found on the way (field -> words).
  function collect() {
    const schema = current.inputSchema || {};
    const required = new Set(schema.required || []);
    const input = {};
    const problems = new Map();
    for (const node of fields.querySelectorAll("[data-field]")) {
      const property = (schema.properties || {})[node.name] || {};
      const value = valueOf(node);
      if (value === Symbol.for("invalid-json")) { problems.set(node.dataset.field, "This is not valid JSON."); continue; }
      const problem = problemWith(value, property, required.has(node.name));
      if (problem) problems.set(node.dataset.field, problem);
      if (value !== undefined) input[node.name] = value;
    }
    return { input, problems };
  }

  // The API's field errors (all of them, from details.errors) at their fields: in the page's words
  // when the page knows the rule, else the API's message without its field prefix.
  function apiProblems(error) {
    const problems = new Map();
    const listed = (error.details && error.details.errors) || [];
    const entries = Array.isArray(listed) ? listed : [];
    if (!entries.length && error.details && error.details.field) entries.push({ field: error.details.field, message: error.message });
    const schema = (current.inputSchema || {}).properties || {};
    for (const { field, message } of entries) {
      const name = String(field || "").replace(/^input\./, "");
      const node = form.querySelector(`[data-field="${CSS.escape(field)}"]`);
      const own = node && schema[name] ? problemWith(valueOf(node), schema[name], ((current.inputSchema || {}).required || []).includes(name)) : "";
      problems.set(field, own || String(message || "").replace(new RegExp(`^${field.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\s*`), ""));
    }
    return problems;
  }

  function fail(problems, fallback) {
    clearProblems();
    let first = null;
    const elsewhere = [];
    for (const [field, message] of problems) {
      const node = form.querySelector(`[data-field="${CSS.escape(field)}"]`);
      if (node) { showAt(node, message); first = first || node; } else elsewhere.push(message);
    }
    const shown = problems.size - elsewhere.length;
    const parts = [];
    if (shown) parts.push(shown === 1 ? "One field needs a change; it is marked in the form." : `${shown} fields need a change; they are marked in the form.`);
    parts.push(...elsewhere);
    if (!problems.size && fallback) parts.push(fallback);
    errorBox.textContent = `The run was not started. ${parts.join(" ")}`;
    errorBox.hidden = false;
    (first || errorBox).focus();
  }

  select.addEventListener("change", () => show(select.value));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = document.getElementById("run-start");
    const { input, problems } = collect();
    if (problems.size) { fail(problems); return; }
    clearProblems();
    button.disabled = true;
    try {
      const run = await D.api("/api/runs", { method: "POST", body: {
        scenarioId: current.id, authProvider: document.getElementById("run-provider").value,
        model: document.getElementById("run-model").value.trim() || undefined, input, mode: modeChosen(),
        machine: document.getElementById("run-machine").value || undefined,
        replayOf: replayOf && replayOf.scenarioId === current.id && modeChosen() !== "model" ? replayOf.id : undefined,
      } });
      window.location.assign(`/runs/${run.id}`);
    } catch (error) {
      fail(apiProblems(error), D.describeError(error));
      button.disabled = false;
    }
  });
  show(select.value);
})();
