// Status: health, the providers' sign-in (Sign in with ChatGPT), and the live log.
"use strict";
(() => {
  const D = Deskhand;
  const $ = (id) => document.getElementById(id);
  const MAX_LINES = 500;
  let logStream = null;
  let paused = false;
  let poll = null;

  async function loadHealth() {
    $("health-status").textContent = "Checking…";
    $("health-status").dataset.status = "";
    try {
      const h = await D.api("/api/system/health");
      $("health-status").textContent = h.status === "ok" ? "Healthy" : h.status;
      $("health-status").dataset.status = h.status;
      $("health-problems").hidden = !(h.problems && h.problems.length);
      $("health-problems").textContent = h.problems && h.problems.length ? `Problems: ${h.problems.join(", ")}` : "";
      const m = h.machine || {};
      const facts = [
        ["Machine", `${m.name || "—"}${m.platform ? ` (${m.platform})` : ""}`],
        ["Desktop", m.displayReachable ? `reachable${m.screen ? `, ${m.screen.width}×${m.screen.height}` : ""}` : `not reachable${m.reason ? ` — ${m.reason}` : ""}`],
        ["CPU", m.cpuPercent !== undefined ? `${m.cpuPercent}% of ${m.cpuCount} cores` : "—"],
        ["Memory", m.memory ? `${m.memory.percent}% used` : "—"],
        ["Workers", (h.workers || []).map((w) => `${w.name}: ${w.online ? "online" : "offline"}${w.busy ? ", busy" : ""}`).join("; ") || "none registered"],
        ["Scenarios", h.scenarios ? `${h.scenarios.count ?? "?"} loaded${h.scenarios.errors && h.scenarios.errors.length ? `, ${h.scenarios.errors.length} broken` : ""}` : "—"],
        ...Object.entries(h.proxy || {}).map(([name, check]) => [`Proxy: ${name}`, `${check.status}${check.reason ? ` — ${check.reason}` : ""}`]),
        ["Checked", D.dateTime(h.time)],
      ];
      $("health-facts").replaceChildren(...facts.flatMap(([k, v]) => [D.el("dt", { text: k }), D.el("dd", { text: v })]));
    } catch (error) {
      $("health-status").textContent = "Unreachable";
      $("health-status").dataset.status = "down";
      $("health-problems").hidden = false;
      $("health-problems").textContent = D.describeError(error);
    }
  }

  function renderAuth(status) {
    const p = status.providers || {};
    const key = p["api-key"] || {};
    const codex = p["codex-oauth"] || {};
    const row = (name, state, text) => D.el("div", { class: "provider" }, D.el("h3", {}, `${name} `, D.badge(state)), D.el("p", { text }));
    $("auth-providers").replaceChildren(
      row("API key", key.configured ? "ok" : "not_configured", key.configured ? `Configured; calls go to ${key.baseUrl}.` : "Not configured: set OPENAI_API_KEY and restart."),
      row("ChatGPT account (Codex OAuth)", codex.signedIn ? "ok" : "not_configured", codex.signedIn
        ? `Signed in${codex.email ? ` as ${codex.email}` : ""}${codex.plan ? ` (${codex.plan})` : ""}${codex.expiresAt ? `; token valid until ${D.dateTime(codex.expiresAt)}` : ""}.`
        : `Not signed in.${codex.lastError ? ` ${codex.lastError.message}` : ""}`),
    );
    $("codex-logout").hidden = !codex.signedIn;
    $("codex-import").hidden = !codex.importAvailable;
    renderLogin(codex.login);
  }

  function renderLogin(login) {
    const box = $("codex-login");
    const waiting = login && login.status === "pending";
    for (const id of ["codex-browser", "codex-device", "codex-import"]) $(id).disabled = Boolean(waiting);
    if (!login) { box.replaceChildren(); return; }
    if (waiting && login.method === "browser") {
      box.replaceChildren(D.el("p", {}, "Open this page in a browser on the machine running Deskhand and sign in: ",
        D.el("a", { href: login.authorizeUrl, target: "_blank", rel: "noopener", id: "codex-authorize-url", text: "ChatGPT sign-in page" })),
        D.el("p", { class: "hint", text: `Waiting for the sign-in${login.expiresAt ? ` until ${D.time(login.expiresAt)}` : ""}.` }));
    } else if (waiting && login.method === "device") {
      box.replaceChildren(D.el("p", {}, "Open ", D.el("a", { href: login.verificationUrl, target: "_blank", rel: "noopener", text: login.verificationUrl }), " in any browser and enter this code:"),
        D.el("p", { class: "code", id: "codex-user-code", text: login.userCode || "" }),
        D.el("p", { class: "hint", text: "This page updates when you approve." }));
    } else {
      box.replaceChildren(D.el("p", { class: login.error ? "error" : "", text: `Last sign-in (${login.method}): ${login.status}${login.error ? ` — ${login.error.message || login.error}` : ""}` }));
    }
    if (waiting && !poll) poll = setInterval(loadAuth, 2000);
    if (!waiting && poll) { clearInterval(poll); poll = null; }
  }

  async function loadAuth() {
    try { renderAuth(await D.api("/api/auth/status")); } catch (error) { $("codex-login").textContent = D.describeError(error); }
  }

  async function login(method, button) {
    button.disabled = true;
    try {
      const result = await D.api("/api/auth/codex/login", { method: "POST", body: { method } });
      renderLogin(result.login || result);
      await loadAuth();
    } catch (error) {
      $("codex-login").replaceChildren(D.el("p", { class: "error", text: D.describeError(error) }));
      button.disabled = false;
    }
  }

  $("codex-browser").addEventListener("click", (e) => login("browser", e.currentTarget));
  $("codex-device").addEventListener("click", (e) => login("device", e.currentTarget));
  $("codex-import").addEventListener("click", (e) => login("import", e.currentTarget));
  $("codex-logout").addEventListener("click", async (e) => {
    const button = e.currentTarget;
    button.disabled = true;
    try { await D.api("/api/auth/codex/logout", { method: "POST" }); } catch (error) { $("codex-login").textContent = D.describeError(error); }
    button.disabled = false;
    loadAuth();
  });

  function logLine(entry) {
    const list = $("log-lines");
    const when = entry.time ? D.time(entry.time) : "";
    const where = [entry.process, entry.logger].filter(Boolean).join(" ");
    list.append(D.el("li", { class: `lvl-${entry.level}` }, `${when} ${entry.level || ""} ${where ? `[${where}] ` : ""}${entry.message || entry.msg || ""}`));
    while (list.children.length > MAX_LINES) list.firstElementChild.remove();
    if (!paused) list.scrollTop = list.scrollHeight;
  }

  function followLogs() {
    if (logStream) logStream.close();
    $("log-lines").replaceChildren();
    logStream = new EventSource(`/api/logs/stream?level=${encodeURIComponent($("log-level").value)}&catchUp=100`, { withCredentials: true });
    logStream.addEventListener("log", (message) => logLine(JSON.parse(message.data)));
  }

  $("log-level").addEventListener("change", followLogs);
  $("log-pause").addEventListener("click", (e) => {
    paused = !paused;
    e.currentTarget.textContent = paused ? "Follow" : "Pause";
    e.currentTarget.setAttribute("aria-pressed", String(paused));
  });
  $("health-refresh").addEventListener("click", loadHealth);

  loadHealth();
  loadAuth();
  followLogs();
})();
