// Shared by every page: the API client (session cookie + CSRF token), the event timeline,
// the screenshot frames with their actions drawn on them. Plain DOM, no framework, no innerHTML
// with data from the server (an event's text is whatever a model or a window title said).
"use strict";

const Deskhand = (() => {
  const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || `HTTP ${status}`);
      this.status = status;
      this.code = body && body.code;
      this.details = (body && body.details) || {};
    }
  }

  async function api(path, { method = "GET", body } = {}) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401) {
      // The session ended (signed out elsewhere, or expired): back to the sign-in, then here.
      window.location.assign(`/login/?next=${encodeURIComponent(location.pathname + location.search)}`);
      throw new ApiError(401, { message: "Signed out." });
    }
    const type = response.headers.get("Content-Type") || "";
    const data = type.includes("json") ? await response.json() : null;
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  // An error as one sentence a person can act on, the field named when there is one.
  function describeError(error) {
    const field = error.details && (error.details.field || Object.keys(error.details.fields || {})[0]);
    return field && !error.message.includes(field) ? `${error.message} (${field})` : error.message;
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function badge(status) {
    return el("span", { class: "badge", "data-status": status, text: (status || "").replace(/_/g, " ") });
  }

  function time(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function dateTime(iso) {
    if (!iso) return "—";
    return new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "medium" });
  }

  function duration(startIso, endIso) {
    if (!startIso) return "—";
    let seconds = Math.max(0, Math.round(((endIso ? new Date(endIso) : new Date()) - new Date(startIso)) / 1000));
    if (seconds < 60) return `${seconds} s`;
    const minutes = Math.floor(seconds / 60); seconds %= 60;
    if (minutes < 60) return `${minutes} min ${seconds} s`;
    return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  }

  function clip(text, max = 400) {
    text = String(text ?? "");
    return text.length > max ? `${text.slice(0, max)}…` : text;
  }

  function json(value) {
    return JSON.stringify(value, null, 2);
  }

  // One action in words: what the agent did (or asks to do), in screen pixels where it has them.
  function describeAction(action) {
    const at = action.x !== undefined ? ` at ${action.x}, ${action.y}` : "";
    const keys = action.keys && action.keys.length ? ` holding ${action.keys.join("+")}` : "";
    switch (action.type) {
      case "click": return `${action.button && action.button !== "left" ? action.button + " " : ""}click${at}${keys}`;
      case "double_click": return `double-click${at}${keys}`;
      case "move": return `move the pointer${at}`;
      case "scroll": return `scroll${at} by ${action.scroll_x || 0}, ${action.scroll_y || 0}`;
      case "drag": return `drag along ${(action.path || []).map((p) => `${p.x},${p.y}`).join(" → ")}`;
      case "keypress": return `press ${(action.keys || []).join("+")}`;
      case "type": return `type “${clip(action.text, 200)}”`;
      case "wait": return `wait ${action.seconds ?? ""} s`;
      case "screenshot": return "take a screenshot";
      default: return action.type || "action";
    }
  }

  // What a confirmation would do, exactly: the command or the actions it is bound to.
  function describeConfirmation(request) {
    const action = request.action || {};
    if (action.command) return `Run this shell command${action.workdir ? ` in ${action.workdir}` : ""}:\n${action.command}`;
    if (Array.isArray(action.actions)) return action.actions.map((a, i) => `${i + 1}. ${describeAction(a)}`).join("\n");
    return json(action);
  }

  // One event as a timeline entry: a label and a sentence, with details where they help.
  function describeEvent(event) {
    const d = event.data || {};
    switch (event.type) {
      case "status":
        return { label: "Status", text: `${(d.status || "").replace(/_/g, " ")}${d.reason ? ` — ${d.reason}` : ""}` };
      case "agent_route":
        return { label: "Route", text: `${d.route}${d.reason ? ` — ${d.reason}` : ""}` };
      case "message": {
        const who = d.kind === "reasoning" ? "Reasoning" : d.kind === "plan" ? "Plan" : d.kind === "plan_step" ? `Step ${d.step} of ${d.of}` : d.role === "user" ? "Instruction" : "Model";
        return { label: who, text: clip(d.text, 2000) };
      }
      case "tool_call":
        if (d.name === "computer" && Array.isArray(d.actions)) {
          return { label: "Computer", text: d.actions.map(describeAction).join("; ") || "no actions" };
        }
        if (d.command) return { label: "Shell", text: d.command, detail: d.workdir ? `in ${d.workdir}` : "" };
        return { label: `Tool ${d.name}`, text: "", detail: d.arguments ? json(d.arguments) : "" };
      case "tool_result": {
        const state = d.status ? ` ${d.status}` : "";
        const output = d.error || d.output || d.stdout || d.stderr || "";
        const code = d.exit_code !== undefined ? ` (exit ${d.exit_code})` : "";
        return { label: `Result${d.name ? ` of ${d.name}` : ""}`, text: `${state.trim()}${code}`, detail: output ? clip(typeof output === "string" ? output : json(output), 2000) : "" };
      }
      case "computer_action":
        return { label: "Action", text: describeAction(d) };
      case "screenshot":
        return { label: "Screenshot", text: `${d.width}×${d.height}` };
      case "error":
        return { label: "Error", text: `${d.message || ""}${d.code ? ` (${d.code})` : ""}` };
      case "confirmation_required":
        return { label: "Needs confirmation", text: `${d.kind || ""}${d.reason ? ` — ${d.reason}` : ""}`, detail: describeConfirmation(d) };
      case "confirmation_resolved":
        return { label: "Confirmation", text: d.decision || d.choice || "" };
      case "usage":
        return { label: "Tokens", text: `${d.agent || ""} turn ${d.turn ?? ""}: ${d.input_tokens ?? d.inputTokens ?? "?"} in, ${d.output_tokens ?? d.outputTokens ?? "?"} out` };
      case "log":
        return { label: `Log ${d.level || ""}`.trim(), text: clip(d.message, 1000) };
      default:
        return { label: event.type, text: "", detail: clip(json(d), 1000) };
    }
  }

  function timelineItem(event) {
    const { label, text, detail } = describeEvent(event);
    return el("li", { "data-type": event.type, "data-seq": event.seq },
      el("span", { class: "when", text: time(event.createdAt) }),
      el("span", { class: "kind", text: label }),
      text ? el("span", { text }) : null,
      detail ? el("pre", { text: detail }) : null);
  }

  // Named SSE events: EventSource's onmessage only sees unnamed ones.
  const EVENT_TYPES = ["status", "log", "message", "tool_call", "tool_result", "computer_action", "screenshot",
    "error", "agent_route", "confirmation_required", "confirmation_resolved", "usage"];

  // Follow an owner's event stream from after `lastSeq`; each event once, in order.
  function follow(url, lastSeq, onEvent, { onEnd } = {}) {
    let seen = lastSeq;
    const source = new EventSource(`${url}?lastEventId=${lastSeq}`, { withCredentials: true });
    const handle = (message) => {
      let event;
      try { event = JSON.parse(message.data); } catch { return; }
      if (typeof event.seq !== "number" || event.seq <= seen) return;
      seen = event.seq;
      onEvent(event);
    };
    for (const type of EVENT_TYPES) source.addEventListener(type, handle);
    source.onmessage = handle;
    source.onerror = () => {
      // The server closes a finished stream; EventSource would reconnect forever (204 stops it).
      if (source.readyState === EventSource.CLOSED && onEnd) onEnd();
    };
    return source;
  }

  // The screenshot strip: one figure per frame, the actions the model chose on it drawn over it.
  // Coordinates come from the computer call (the model's, in the frame's own pixels); the matching
  // computer_action events carry screen pixels, which differ from the frame's when it was scaled.
  function buildFrames(events) {
    const frames = [];
    const pendingCalls = [];
    let last = null;
    for (const event of events) {
      if (event.type === "screenshot" && event.data && event.data.url) {
        last = { event, actions: [], caption: [] };
        frames.push(last);
        // A call made before any frame was seen is drawn on the first frame it produced.
        while (pendingCalls.length) attach(last, pendingCalls.shift());
      } else if (event.type === "tool_call" && event.data && event.data.name === "computer" && Array.isArray(event.data.actions)) {
        if (last) attach(last, event.data.actions); else pendingCalls.push(event.data.actions);
      }
    }
    return frames;
  }

  function attach(frame, actions) {
    for (const action of actions) {
      if (action.type === "screenshot") continue;
      frame.actions.push(action);
      frame.caption.push(describeAction(action));
    }
  }

  const SVG = "http://www.w3.org/2000/svg";
  function svgEl(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    return node;
  }

  function drawActions(svg, actions, width, height) {
    svg.replaceChildren();
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    const r = Math.max(8, Math.round(width / 80));
    const stroke = Math.max(2, Math.round(width / 400));
    const font = Math.max(12, Math.round(width / 55));
    const defs = svgEl("defs", {});
    const marker = svgEl("marker", { id: `arrow-${Math.random().toString(36).slice(2)}`, viewBox: "0 0 10 10", refX: "8", refY: "5", markerWidth: "5", markerHeight: "5", orient: "auto-start-reverse" });
    marker.append(svgEl("path", { d: "M0,0 L10,5 L0,10 z", fill: "#dc2626" }));
    defs.append(marker);
    svg.append(defs);
    let pointer = null;
    const label = (x, y, text) => {
      const t = svgEl("text", { x: Math.min(x + r + 4, width - 4), y: Math.max(y - r, font), "font-size": font, "font-family": "system-ui, sans-serif", fill: "#fff", stroke: "#111827", "stroke-width": Math.max(3, stroke * 1.5), "paint-order": "stroke", "font-weight": "700" });
      t.textContent = text;
      svg.append(t);
    };
    actions.forEach((action, index) => {
      const n = String(index + 1);
      if (["click", "double_click", "move", "scroll"].includes(action.type) && action.x !== undefined) {
        const x = Number(action.x), y = Number(action.y);
        pointer = { x, y };
        if (action.type === "move") {
          svg.append(svgEl("path", { d: `M${x - r},${y} H${x + r} M${x},${y - r} V${y + r}`, stroke: "#dc2626", "stroke-width": stroke, fill: "none" }));
        } else {
          svg.append(svgEl("circle", { cx: x, cy: y, r, fill: "rgba(220,38,38,.25)", stroke: "#dc2626", "stroke-width": stroke }));
          if (action.type === "double_click") svg.append(svgEl("circle", { cx: x, cy: y, r: r * 1.6, fill: "none", stroke: "#dc2626", "stroke-width": stroke }));
          if (action.type === "scroll") {
            const dx = Math.sign(action.scroll_x || 0) * r * 3, dy = Math.sign(action.scroll_y || 0) * r * 3;
            svg.append(svgEl("line", { x1: x, y1: y, x2: x + dx, y2: y + dy, stroke: "#dc2626", "stroke-width": stroke, "marker-end": `url(#${marker.id})` }));
          }
        }
        label(x, y, n);
      } else if (action.type === "drag" && Array.isArray(action.path) && action.path.length) {
        const points = action.path.map((p) => `${p.x},${p.y}`).join(" ");
        svg.append(svgEl("polyline", { points, fill: "none", stroke: "#dc2626", "stroke-width": stroke * 1.5, "marker-end": `url(#${marker.id})` }));
        const end = action.path[action.path.length - 1];
        pointer = { x: Number(end.x), y: Number(end.y) };
        label(Number(action.path[0].x), Number(action.path[0].y), n);
      } else if (action.type === "type" || action.type === "keypress") {
        const text = action.type === "type" ? `${n} ⌨ ${clip(action.text, 40)}` : `${n} ${(action.keys || []).join("+")}`;
        const at = pointer || { x: r, y: font * 2 };
        label(at.x, at.y + font * 1.4, text);
      }
    });
  }

  function frameFigure(frame, index) {
    const d = frame.event.data;
    const alt = `Screen ${index + 1}, ${d.width}×${d.height}${frame.caption.length ? `; next: ${frame.caption.join("; ")}` : ""}`;
    const svg = svgEl("svg", { "aria-hidden": "true", focusable: "false" });
    drawActions(svg, frame.actions, d.width, d.height);
    const link = el("a", { href: d.url, target: "_blank", rel: "noopener" }, el("img", { src: d.url, alt, width: d.width, height: d.height, loading: "lazy" }));
    const canvas = el("div", { class: "canvas" }, link);
    canvas.append(svg);
    return el("figure", { class: "frame", "data-seq": frame.event.seq },
      canvas,
      el("figcaption", {},
        el("strong", { text: `#${index + 1}` }), ` ${time(frame.event.createdAt)}`,
        frame.caption.length ? ` — then: ${frame.caption.join("; ")}` : ""));
  }

  // Open confirmation: the last confirmation_required without a confirmation_resolved after it.
  function pendingConfirmation(events) {
    let pending = null;
    for (const event of events) {
      if (event.type === "confirmation_required") pending = event.data;
      else if (event.type === "confirmation_resolved") pending = null;
    }
    return pending;
  }

  return {
    api, ApiError, describeError, el, badge, time, dateTime, duration, clip, json, describeAction,
    describeConfirmation, describeEvent, timelineItem, follow, buildFrames, frameFigure, pendingConfirmation,
    readJson: (id) => JSON.parse(document.getElementById(id).textContent),
  };
})();
