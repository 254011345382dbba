// Status: health and what needs attention, the providers' sign-in (Sign in with ChatGPT), the live log.
"use strict";
(() => {
  const D = Deskhand;
  const $ = (id) => document.getElementById(id);
  const MAX_LINES = 500;
  let logStream = null;
  let paused = false;
  let poll = null;

  // The sign-in service's messages are written for API callers; here they name this page's buttons.
  function inWords(text) {
    return String(text || "")
      .replace(/\s*\(POST [^)]*\)/g, "")
      .replace(/\{"method": "browser"\}/g, "“Sign in with ChatGPT”")
      .replace(/\{"method": "device"\}/g, "“Use a device code”")
      .replace(/\{"method": "import"\}/g, "“Import the Codex CLI sign-in”")
      .replace(/POST \/api\/auth\/codex\/login/g, "“Sign in with ChatGPT” below")
      .replace(/\s{2,}/g, " ");
  }

  function note(text, problem = false) {
    $("codex-login").replaceChildren(D.el("p", { class: problem ? "error" : "", text }));
  }

  async function loadHealth() {
    const badge = $("health-status");
    badge.textContent = "Checking…";
    badge.dataset.status = "";
    try {
      const h = await D.api("/api/system/health");
      const problems = h.problems || [];
      badge.dataset.status = h.status;
      badge.textContent = h.status === "ok" ? "Healthy"
        : `${D.words(h.status)}: ${problems.length} problem${problems.length === 1 ? "" : "s"}`;
      $("health-problems").replaceChildren(...problems.map((p) => D.el("li", { "data-code": p.code, text: p.message })));
      $("health-problems-box").hidden = problems.length === 0;
      const m = h.machine || {};
      const facts = [
        ["Machine", `${m.name || "—"}${m.platform ? ` (${m.platform})` : ""}`],
        ["Desktop", m.displayReachable ? `reachable${m.screen ? `, ${m.screen.width}×${m.screen.height}` : ""}` : `not reachable${m.reason ? ` (${m.reason})` : ""}`],
        ["CPU", m.cpuPercent !== undefined ? `${m.cpuPercent}% of ${m.cpuCount} cores` : "—"],
        ["Memory", m.memory ? `${m.memory.percent}% used` : "—"],
        ["Scenarios", h.scenarios ? `${h.scenarios.count ?? "?"} loaded${h.scenarios.errors && h.scenarios.errors.length ? `, ${h.scenarios.errors.length} broken` : ""}` : "—"],
        ...Object.entries(h.proxy || {}).map(([name, check]) => [PROVIDER_LABELS[name] || name, `${D.words(check.status)}${check.reason ? ` (${inWords(check.reason)})` : ""}`]),
        ["Checked", D.dateTime(h.time)],
      ];
      $("health-facts").replaceChildren(...facts.flatMap(([k, v]) => [D.el("dt", { text: k }), D.el("dd", { text: v })]));
    } catch (error) {
      badge.textContent = "Unreachable";
      badge.dataset.status = "down";
      $("health-problems").replaceChildren(D.el("li", { text: `The server did not answer the health check: ${D.describeError(error)}` }));
      $("health-problems-box").hidden = false;
    }
  }

  // The machines: whether each worker is online, what it drives now, the runs waiting for it.
  // Asked again every few seconds, so a worker that stops shows offline without a reload.
  const MACHINE_WORDS = { idle: "Free", busy: "Busy", offline: "Offline" };
  const MACHINES_EVERY_MS = 5000;

  function machineRow(m) {
    const doing = m.current
      ? D.el("a", { href: m.current.kind === "run" ? `/runs/${m.current.id}` : `/live/${m.current.id}`,
        text: m.current.kind === "run" ? "a run" : "a live session" })
      : "—";
    const age = m.heartbeatAgeSeconds;
    const beat = age === null ? "none (stopped)" : age < 60 ? `${Math.round(age)} s ago` : age < 3600 ? `${Math.round(age / 60)} min ago` : `${Math.round(age / 3600)} h ago`;
    const screen = m.screen ? `${m.screen.width}×${m.screen.height}` : "—";
    return D.el("tr", { "data-machine": m.name },
      D.el("th", { scope: "row", class: "title", text: m.name }),
      D.el("td", { "data-label": "Status" }, D.el("span", { class: "badge", "data-status": m.status, text: MACHINE_WORDS[m.status] || D.words(m.status) })),
      D.el("td", { "data-label": "Desktop", text: m.displayReachable ? screen : "not reachable" }),
      D.el("td", { "data-label": "Heartbeat", text: beat }),
      D.el("td", { "data-label": "Doing now" }, doing),
      D.el("td", { "data-label": "Runs waiting", text: String(m.queuedRuns) }));
  }

  async function loadMachines() {
    try {
      const machines = (await D.api("/api/machines?limit=200")).items;
      $("machines-rows").replaceChildren(...machines.map(machineRow));
      $("machines").hidden = machines.length === 0;
      $("machines-note").textContent = machines.length ? "" : "No machine has registered yet: `serve` starts a worker for this one; on other desktops run `python manage.py worker`.";
    } catch (error) {
      $("machines-note").textContent = `The machines could not be read: ${D.describeError(error)}`;
    }
  }

  const PROVIDER_LABELS = { "api-key": "OpenAI API", "codex-oauth": "ChatGPT backend", "https-proxy": "HTTPS proxy" };

  function renderAuth(status) {
    const p = status.providers || {};
    const key = p["api-key"] || {};
    const codex = p["codex-oauth"] || {};
    const row = (name, ready, label, text) => D.el("div", { class: "provider" },
      D.el("h3", {}, `${name} `, D.el("span", { class: "badge", "data-status": ready ? "ok" : "not_configured", text: label })),
      D.el("p", { text }));
    $("auth-providers").replaceChildren(
      row("API key", key.configured, key.configured ? "Ready" : "Not set up",
        key.configured ? `Configured; calls go to ${key.baseUrl}.` : "Not configured: set OPENAI_API_KEY (in the environment or .env) and restart Deskhand."),
      row("ChatGPT account (Codex OAuth)", codex.signedIn, codex.signedIn ? "Signed in" : "Signed out", codex.signedIn
        ? `Signed in${codex.email ? ` as ${codex.email}` : ""}${codex.plan ? ` (${codex.plan})` : ""}${codex.expiresAt ? `; token valid until ${D.dateTime(codex.expiresAt)}` : ""}.`
        : `Not signed in.${codex.lastError ? ` ${inWords(codex.lastError.message)}` : ""}`),
    );
    const pending = Boolean(codex.login && codex.login.status === "pending");
    $("codex-browser").hidden = codex.signedIn || pending;
    $("codex-device").hidden = codex.signedIn || pending;
    $("codex-import").hidden = codex.signedIn || pending || !codex.importAvailable;
    $("codex-cancel").hidden = !pending;
    $("codex-logout").hidden = !codex.signedIn;
    renderLogin(codex.login);
  }

  function renderLogin(login) {
    const box = $("codex-login");
    const waiting = login && login.status === "pending";
    for (const id of ["codex-browser", "codex-device", "codex-import"]) $(id).disabled = Boolean(waiting);
    if (waiting && login.method === "browser") {
      box.replaceChildren(D.el("p", {}, "Open this page in a browser on the machine running Deskhand and sign in: ",
        D.el("a", { href: login.authorizeUrl, target: "_blank", rel: "noopener", id: "codex-authorize-url", text: "ChatGPT sign-in page" })),
        D.el("p", { class: "hint", text: `Waiting for the sign-in${login.expiresAt ? ` until ${D.time(login.expiresAt)}` : ""}.` }));
    } else if (waiting && login.method === "device") {
      box.replaceChildren(D.el("p", {}, "Open ", D.el("a", { href: login.verificationUrl, target: "_blank", rel: "noopener", text: login.verificationUrl }), " in any browser and enter this code:"),
        D.el("p", { class: "code", id: "codex-user-code", text: login.userCode || "" }),
        D.el("p", { class: "hint", text: "This page updates when you approve." }));
    } else if (login && login.status !== "pending" && !box.dataset.keep) {
      const how = { browser: " with the browser", device: " with a device code", import: " by import" }[login.method] || "";
      const said = {
        succeeded: `The last sign-in${how} worked.`,
        cancelled: "The last sign-in was cancelled.",
        expired: "The last sign-in was not finished in time; start it again.",
      }[login.status];
      const failed = !said;
      box.replaceChildren(D.el("p", { class: failed ? "error" : "", text: said || `The last sign-in${how} failed: ${inWords(login.error ? login.error.message || login.error : D.words(login.status))}` }));
    }
    if (waiting && !poll) poll = setInterval(loadAuth, 2000);
    if (!waiting && poll) { clearInterval(poll); poll = null; }
  }

  async function loadAuth() {
    try { renderAuth(await D.api("/api/auth/status")); } catch (error) { note(inWords(D.describeError(error)), true); }
  }

  async function login(method, button) {
    button.disabled = true;
    delete $("codex-login").dataset.keep;
    try {
      const result = await D.api("/api/auth/codex/login", { method: "POST", body: { method } });
      renderLogin(result.login || result);
      await loadAuth();
    } catch (error) {
      note(inWords(error.message), true);
      $("codex-login").dataset.keep = "1";
      button.disabled = false;
    }
  }

  async function signOut(button, done) {
    button.disabled = true;
    note(button.id === "codex-cancel" ? "Cancelling the sign-in…" : "Signing out…");
    try {
      const result = await D.api("/api/auth/codex/logout", { method: "POST" });
      note(done(result));
    } catch (error) {
      note(inWords(D.describeError(error)), true);
    }
    $("codex-login").dataset.keep = "1";
    button.disabled = false;
    await loadAuth();
  }

  $("codex-browser").addEventListener("click", (e) => login("browser", e.currentTarget));
  $("codex-device").addEventListener("click", (e) => login("device", e.currentTarget));
  $("codex-import").addEventListener("click", (e) => login("import", e.currentTarget));
  $("codex-cancel").addEventListener("click", (e) => signOut(e.currentTarget, () => "The sign-in was cancelled."));
  $("codex-logout").addEventListener("click", (e) => signOut(e.currentTarget, (r) =>
    r.revoked === false ? "Signed out: the tokens are deleted here. ChatGPT could not be reached to revoke them; they expire on their own."
      : "Signed out of ChatGPT: the tokens are deleted and revoked."));

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
  $("health-refresh").addEventListener("click", () => { loadHealth(); loadMachines(); });

  loadHealth();
  loadMachines();
  setInterval(loadMachines, MACHINES_EVERY_MS);
  loadAuth();
  followLogs();
})();
