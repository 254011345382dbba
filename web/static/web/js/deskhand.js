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

  // A status as a person reads it: the server's one list (web/templatetags/deskhand.py), in every page.
  const STATUS_WORDS = JSON.parse(document.getElementById("status-words")?.textContent || "{}");
  function words(status) {
    const text = String(status || "");
    return STATUS_WORDS[text] || (text.charAt(0).toUpperCase() + text.slice(1)).replace(/[_-]+/g, " ");
  }

  // Statuses in which an execution is still going (it may end by itself or be stopped).
  const ACTIVE = ["queued", "running", "executing", "waiting_confirmation", "stopping", "paused"];

  // What to show for a record: a stop that was accepted while the execution still winds down is
  // "stopping", whether the server says so already or only through `stopRequestedAt`; a pause that
  // was asked for is "pausing" until the execution reaches a safe point and says "paused", and a
  // resume "resuming" until it says it works again.
  function shownStatus(record) {
    const status = record.status || "";
    if (record.stopRequestedAt && ACTIVE.includes(status) && status !== "queued") return "stopping";
    if (record.pauseRequestedAt && status !== "paused" && ACTIVE.includes(status) && status !== "queued") return "pausing";
    if (status === "paused" && !record.pauseRequestedAt) return "resuming";
    return status;
  }

  // Which of Pause and Resume a going execution offers: Pause while it works, Resume while it is
  // paused (or pausing); neither while it stops or has not started.
  function pauseControls(record, { pause, resume }) {
    const shown = shownStatus(record);
    const resting = shown === "paused" || shown === "pausing";
    const working = ["running", "executing", "waiting_confirmation"].includes(shown);
    pause.hidden = resting;
    pause.disabled = !working;
    resume.hidden = !resting;
    resume.disabled = !resting;
  }

  function setBadge(node, status) {
    node.dataset.status = status;
    node.textContent = words(status);
  }

  function badge(status) {
    return el("span", { class: "badge", "data-status": status, text: words(status) });
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

  // Elapsed time as a clock that ticks: 0:07, 12:40, 1:02:03.
  function clock(startIso, endIso) {
    if (!startIso) return "—";
    let seconds = Math.max(0, Math.floor(((endIso ? new Date(endIso) : new Date()) - new Date(startIso)) / 1000));
    const hours = Math.floor(seconds / 3600); seconds %= 3600;
    const minutes = Math.floor(seconds / 60); seconds %= 60;
    const two = (n) => String(n).padStart(2, "0");
    return hours ? `${hours}:${two(minutes)}:${two(seconds)}` : `${minutes}:${two(seconds)}`;
  }

  function number(value) {
    return Number(value || 0).toLocaleString("en-GB");
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

  // One action in words: what the agent did (or asks to do), in the pixels it was given in.
  function describeAction(action) {
    const at = action.x !== undefined ? ` at ${action.x}, ${action.y}` : "";
    const keys = action.keys && action.keys.length ? ` holding ${action.keys.join("+")}` : "";
    const button = action.button && action.button !== "left" ? `${action.button} ` : "";
    const seconds = action.seconds ?? (action.ms !== undefined ? action.ms / 1000 : undefined);
    switch (action.type) {
      case "click": return `${button}click${at}${keys}`;
      case "double_click": return `double-click${at}${keys}`;
      case "move": return `move the pointer${at}`;
      case "scroll": return `scroll${at} by ${action.scroll_x || 0}, ${action.scroll_y || 0}`;
      case "drag": return `drag along ${(action.path || []).map((p) => `${p.x},${p.y}`).join(" → ")}`;
      case "keypress": return `press ${(action.keys || []).join("+")}`;
      case "type": return `type “${clip(action.text, 200)}”`;
      case "wait": return seconds ? `wait ${seconds} s` : "wait a moment";
      case "screenshot": return "take a screenshot";
      default: return (action.type || "action").replace(/_/g, " ");
    }
  }

  // An action on the timeline: its kind as the label, the rest as the text ("Click" "at 160, 100").
  const ACTION_LABELS = {
    click: "Click", double_click: "Double-click", move: "Move", scroll: "Scroll", drag: "Drag",
    keypress: "Press", type: "Type", wait: "Wait", screenshot: "Look",
  };
  function actionEntry(action) {
    const label = ACTION_LABELS[action.type];
    if (!label) return { label: "Action", text: describeAction(action) };
    const text = action.type === "screenshot" ? "at the screen" : describeAction(action)
      .replace(/^(right |middle |back |forward )?(click|double-click|move the pointer|scroll|drag|press|type|wait)\s*/, (_, button) => (button ? `${button}button ` : ""));
    return { label, text: action.type === "move" ? `to ${text.replace(/^at /, "")}` : text };
  }

  // A browser tool call (the agent's browser, not the desktop) in words.
  function describeBrowserCall(name, args = {}) {
    const target = args.text || args.selector || args.role || args.name || args.field || "";
    switch (name) {
      case "browser_open": return `open ${args.url || "a page"}${args.new_tab ? " in a new tab" : ""}`;
      case "browser_click": return `click ${target ? `“${clip(target, 80)}”` : "an element"}`;
      case "browser_type": return `type ${args.value !== undefined ? `“${clip(args.value, 80)}”` : "text"}${target ? ` into “${clip(target, 60)}”` : ""}${args.submit ? " and submit" : ""}`;
      case "browser_select": return `choose “${clip(args.option, 80)}”${target ? ` in “${clip(target, 60)}”` : ""}`;
      case "browser_press": return `press ${args.key || "a key"}${target ? ` in “${clip(target, 60)}”` : ""}`;
      case "browser_wait": return args.text ? `wait for “${clip(args.text, 80)}”` : args.url_contains ? `wait for an address with “${clip(args.url_contains, 80)}”` : "wait for the page to load";
      case "browser_switch_tab": return `switch to tab ${args.index}`;
      case "browser_read": return "read the page";
      case "browser_tabs": return "list the tabs";
      case "browser_screenshot": return "take a screenshot of the page";
      case "browser_back": return "go back";
      case "download": return `save the download ${args.file || ""}`.trim();
      default: return `${name.replace(/^browser_/, "").replace(/_/g, " ")}${target ? ` “${clip(target, 80)}”` : ""}`;
    }
  }

  // Why a confirmation is asked, as a heading a person understands (the kinds of agent/sink.py).
  const CONFIRMATION_KINDS = {
    safety_check: "The model's safety check flagged this step",
    gui_action: "A risky action on the desktop",
    shell_command: "A shell command that needs your approval",
    browser: "A browser action that needs your approval",
  };
  // The model's safety-check codes, for a check that comes without a message.
  const SAFETY_CODES = {
    malicious_instructions: "The screen may hold instructions meant to steer the agent.",
    irrelevant_domain: "The page is on a site that does not seem to belong to the task.",
    sensitive_domain: "The page is on a sensitive site.",
  };

  function confirmationReason(request) {
    const heading = CONFIRMATION_KINDS[request.kind] || "The agent asks before this step";
    const checks = (request.action && request.action.checks) || [];
    let reason = String(request.reason || "").trim();
    for (const check of checks) {
      if (check.code && reason.includes(check.code) && !check.message) reason = reason.replace(check.code, SAFETY_CODES[check.code] || words(check.code));
    }
    return { heading, reason: reason || "No reason was given." };
  }

  // What a confirmation would do, exactly: the command or the actions it is bound to.
  function describeConfirmation(request) {
    const action = request.action || {};
    if (action.command) return `Run this shell command${action.workdir ? ` in ${action.workdir}` : ""}:\n${action.command}`;
    if (action.tool) return `In the browser${action.url ? ` (${action.url})` : ""}: ${describeBrowserCall(action.tool, { ...(action.arguments || {}), ...action, value: action.text })}`;
    if (Array.isArray(action.actions)) return action.actions.map((a, i) => `${i + 1}. ${describeAction(a)}`).join("\n");
    return json(action);
  }

  // One event as a timeline entry: a label and a sentence, with details where they help.
  function describeEvent(event) {
    const d = event.data || {};
    switch (event.type) {
      case "status":
        return { label: "Status", text: `${words(d.status)}${d.reason ? `: ${d.reason}` : ""}` };
      case "agent_route":
        return { label: "Route", text: routeWords(d) };
      case "message": {
        const who = d.kind === "reasoning" ? "Reasoning" : d.kind === "plan" ? "Plan" : d.kind === "plan_step" ? `Step ${d.step} of ${d.of}` : d.role === "user" ? "Instruction" : "Model";
        return { label: who, text: clip(d.text, 2000) };
      }
      case "tool_call":
        if (d.name === "computer" && Array.isArray(d.actions) && d.source === "replay") {
          return { label: `Replay step ${d.step} of ${d.steps}`, text: `${d.actions.map(describeAction).join("; ")}${locatedWords(d.located)}` };
        }
        if (d.name === "computer" && Array.isArray(d.actions)) {
          return { label: "Model chose", text: d.actions.map(describeAction).join("; ") || "no actions" };
        }
        if (d.command) return { label: "Shell", text: d.command, detail: d.workdir ? `in ${d.workdir}` : "" };
        if ((d.name || "").startsWith("browser_")) return { label: "Browser", text: describeBrowserCall(d.name, d.arguments || {}) };
        return { label: `Tool ${d.name}`, text: "", detail: d.arguments ? json(d.arguments) : "" };
      case "tool_result": {
        const state = d.status ? ` ${d.status}` : "";
        const output = d.error || d.output || d.stdout || d.stderr || "";
        const code = d.exit_code !== undefined ? ` (exit ${d.exit_code})` : "";
        return { label: `Result${d.name ? ` of ${d.name}` : ""}`, text: `${state.trim()}${code}`, detail: output ? clip(typeof output === "string" ? output : json(output), 2000) : "" };
      }
      case "computer_action":
        return actionEntry(d);
      case "screenshot":
        return { label: "Screenshot", text: `${d.width}×${d.height}` };
      case "error":
        return { label: "Error", text: `${d.message || ""}${d.code ? ` (${d.code})` : ""}` };
      case "confirmation_required": {
        const { heading, reason } = confirmationReason(d);
        return { label: "Asks you", text: `${heading}: ${reason}`, detail: describeConfirmation(d) };
      }
      case "confirmation_resolved": {
        const answer = d.decision || d.choice || "";
        return { label: "Your answer", text: { confirmed: "Confirmed", declined: "Declined", expired: "No answer in time" }[answer] || words(answer) };
      }
      case "usage":
        return { label: "Tokens", text: `${words(d.agent || "model")} turn ${d.turn ?? ""}: ${number(d.input_tokens ?? d.inputTokens)} in, ${number(d.output_tokens ?? d.outputTokens)} out` };
      case "log":
        return { label: `Log ${d.level || ""}`.trim(), text: clip(d.message, 1000) };
      case "replay":
        return { label: "Autopilot", text: replayWords(d) };
      default:
        return { label: event.type, text: "", detail: clip(json(d), 1000) };
    }
  }

  // The route the router chose, once: "Desktop agent, browser first: <why>".
  const ROUTE_WORDS = { desktop: "Desktop agent", cli: "Shell agent", planner: "Planner", auto: "Chosen per instruction" };
  function routeName(d) {
    return `${ROUTE_WORDS[d.route] || words(d.route)}${d.browser ? ", browser first" : ""}`;
  }
  function routeWords(d) {
    let reason = String(d.reason || "").replace(/\s+—\s+browser-first:.*$/, "").trim();
    if (reason.toLowerCase() === String(d.route || "").toLowerCase()) reason = "";
    return reason ? `${routeName(d)}: ${reason}` : routeName(d);
  }

  // Where a replayed action's target was found, after its description.
  function locatedWords(located) {
    if (!located) return "";
    if (located.inPlace) return " (its target where it was recorded)";
    const [dx, dy] = located.moved || [0, 0];
    return ` (its target found ${dx || dy ? `moved by ${dx}, ${dy}` : "again"}, likeness ${Math.round(located.score * 100)} %)`;
  }

  // A `replay` event in words: the replay started, stopped where the screen differs, or finished.
  function replayWords(d) {
    if (d.phase === "started") return `Replaying run ${d.recording} (${d.steps} step${d.steps === 1 ? "" : "s"}) without the model.`;
    if (d.phase === "completed") return `All ${d.replayed} step${d.replayed === 1 ? "" : "s"} replayed; the model was not needed.`;
    if (d.phase === "diverged") {
      const what = d.action && d.action.type ? ` (${describeAction(d.action)})` : "";
      return `The screen differs from the recording at step ${d.step} of ${d.steps}${what}: ${d.reason}. The model takes over from here.`;
    }
    return words(d.phase);
  }

  // How a run's actions divide between a replayed recording and the model, from its events:
  // { replayed, model, diverged (the replay event, or null), replaying (a replay started) }.
  function replaySplit(events) {
    const split = { replayed: 0, model: 0, diverged: null, replaying: false };
    for (const event of events) {
      if (event.type === "replay") {
        split.replaying = true;
        if (event.data && event.data.phase === "diverged") split.diverged = event.data;
      } else if (event.type === "computer_action" && (event.data || {}).type !== "screenshot") {
        if (sourceOf(event) === "replay") split.replayed += 1; else split.model += 1;
      }
    }
    return split;
  }

  // Who chose an event's action: "replay" for what a recording repeated, "model" for the rest.
  function sourceOf(event) {
    const d = event.data || {};
    if (d.source) return d.source;
    return ["tool_call", "computer_action"].includes(event.type) ? "model" : undefined;
  }

  function timelineItem(event) {
    const { label, text, detail } = describeEvent(event);
    // Spaces between the parts: copied text and screen readers get "12:00:01 Click at 160, 100".
    return el("li", { "data-type": event.type, "data-seq": event.seq, "data-source": sourceOf(event), "data-phase": event.data && event.data.phase },
      el("span", { class: "when", text: time(event.createdAt) }), " ",
      el("span", { class: "kind", text: label }), " ",
      event.type === "computer_action" && sourceOf(event) === "replay" ? [el("span", { class: "source-tag", "data-source": "replay", text: "replayed" }), " "] : null,
      text ? el("span", { text }) : null,
      detail ? el("pre", { text: detail }) : null);
  }

  // A timeline that follows new events while its reader is at the bottom, and stays put (with a
  // "newest" button) when they scrolled up to read something.
  class Timeline {
    constructor(list, jumpButton) {
      this.list = list;
      this.jump = jumpButton;
      this.following = true;
      this.list.addEventListener("scroll", () => {
        this.following = this.atEnd();
        if (this.following) this.jump.hidden = true;
      });
      this.jump.addEventListener("click", () => this.toEnd());
      // A box that changes height (a turned phone, a resized window) keeps following.
      window.addEventListener("resize", () => { if (this.following) this.toEnd(); });
    }
    atEnd() {
      return this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 24;
    }
    toEnd() {
      this.list.scrollTop = this.list.scrollHeight;
      this.following = true;
      this.jump.hidden = true;
    }
    replace(events) {
      const following = this.following || this.atEnd();
      const top = this.list.scrollTop;
      this.list.replaceChildren(...events.map(timelineItem));
      if (following) this.toEnd(); else { this.list.scrollTop = top; this.jump.hidden = this.atEnd(); }
    }
    add(event) {
      const following = this.following || this.atEnd();
      this.list.append(timelineItem(event));
      if (following) this.toEnd(); else this.jump.hidden = false;
    }
  }

  // The near-live screen from an SSE screen stream into an <img>: `onStop(text)` says why it ended
  // (a closed session, a finished run, no display) so the page can show something better.
  function watchScreen(url, img, { onFrame, onStop }) {
    const source = new EventSource(url, { withCredentials: true });
    let stopped = false;
    const stop = (text) => {
      if (stopped) return;
      stopped = true;
      source.close();
      if (onStop) onStop(text);
    };
    source.addEventListener("frame", (message) => {
      const frame = JSON.parse(message.data);
      img.src = `data:image/jpeg;base64,${frame.image}`;
      img.width = frame.width; img.height = frame.height;
      img.dataset.frames = String(Number(img.dataset.frames || 0) + 1);
      if (onFrame) onFrame(frame);
    });
    source.addEventListener("end", (message) => {
      let text = "";
      try { text = JSON.parse(message.data).reason || ""; } catch { /* no reason given */ }
      stop(text);
    });
    source.addEventListener("error", async (message) => {
      if (message.data) { stop(JSON.parse(message.data).message || "The screen stream stopped."); return; }
      if (source.readyState !== EventSource.CLOSED) return; // reconnecting by itself
      // EventSource hides a refusal's body: ask once more to show why (no display, finished, closed).
      let text = "The screen stream stopped.";
      const controller = new AbortController();
      try {
        const response = await fetch(url, { credentials: "same-origin", signal: controller.signal });
        if (!response.ok) text = (await response.json()).message || text;
      } catch { /* the server is gone: the generic sentence stands */ }
      controller.abort();
      stop(text);
    });
    return { close: () => { stopped = true; source.close(); } };
  }

  // Named SSE events: EventSource's onmessage only sees unnamed ones.
  const EVENT_TYPES = ["status", "log", "message", "tool_call", "tool_result", "computer_action", "screenshot",
    "error", "agent_route", "confirmation_required", "confirmation_resolved", "usage", "replay"];

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
    let stacked = 0; // text labels drawn at the current pointer so far
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
        stacked = 0;
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
        stacked = 0;
        label(Number(action.path[0].x), Number(action.path[0].y), n);
      } else if (action.type === "type" || action.type === "keypress") {
        // Text and keys go where the pointer last was, one line each, below its number.
        const text = action.type === "type" ? `${n} ⌨ ${clip(action.text, 40)}` : `${n} ${(action.keys || []).join("+")}`;
        const at = pointer || { x: r, y: font * 2 };
        stacked += 1;
        label(at.x, at.y + font * 1.3 * stacked, text);
      }
    });
  }

  function frameFigure(frame, index, { label } = {}) {
    const d = frame.event.data;
    const alt = `Screen ${index + 1}, ${d.width}×${d.height}${frame.caption.length ? `; next: ${frame.caption.join("; ")}` : ""}`;
    const svg = svgEl("svg", { "aria-hidden": "true", focusable: "false" });
    drawActions(svg, frame.actions, d.width, d.height);
    const link = el("a", { href: d.url, target: "_blank", rel: "noopener" }, el("img", { src: d.url, alt, width: d.width, height: d.height, loading: "lazy" }));
    const canvas = el("div", { class: "canvas" }, link);
    canvas.append(svg);
    return el("figure", { class: "frame", "data-seq": frame.event.seq },
      canvas,
      label ? el("figcaption", {}, el("strong", { text: label }), `: ${frame.caption.map((c, i) => `${i + 1}. ${c}`).join("; ")}`)
        : el("figcaption", {},
          el("strong", { text: `#${index + 1}` }), ` ${time(frame.event.createdAt)}`,
          frame.caption.length ? ` — then: ${frame.caption.join("; ")}` : ""));
  }

  // The screen the model chose its next actions on: the newest screenshot event.
  function lastScreenshot(events) {
    for (let i = events.length - 1; i >= 0; i -= 1) {
      if (events[i].type === "screenshot" && events[i].data && events[i].data.url) return events[i];
    }
    return null;
  }

  // The pending actions drawn on that screen: a marker where it would click, the text it would type.
  // Coordinates of a computer call are the model's, in that screenshot's own pixels: exact here.
  function confirmationFigure(request, events) {
    const actions = request.action && Array.isArray(request.action.actions) ? request.action.actions.filter((a) => a.type !== "screenshot") : [];
    const shot = lastScreenshot(events);
    if (!actions.length || !shot) return null;
    return frameFigure({ event: shot, actions, caption: actions.map(describeAction) }, 0, {
      label: "What it would do, on the screen it sees now",
    });
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
    api, ApiError, describeError, el, badge, setBadge, words, ACTIVE, shownStatus, pauseControls, time, dateTime, duration, clock,
    number, clip, json, routeName, describeAction, drawActions, describeConfirmation, confirmationReason, confirmationFigure, describeEvent,
    timelineItem, Timeline, replaySplit, watchScreen, follow, buildFrames, frameFigure, lastScreenshot, pendingConfirmation,
    readJson: (id) => JSON.parse(document.getElementById(id).textContent),
  };
})();
