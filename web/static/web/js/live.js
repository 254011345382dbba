// The live console: the near-live screen, one instruction at a time, confirmations, observe.
"use strict";
(() => {
  const D = Deskhand;
  const BUSY = ["executing", "waiting_confirmation"];
  let session = D.readJson("session-data");
  let events = session.events || [];
  let pending = session.pendingConfirmation || D.pendingConfirmation(events);
  let screen = null;
  let frames = 0;

  const $ = (id) => document.getElementById(id);
  const base = `/api/live-sessions/${session.id}`;

  function say(text, problem = false) {
    const box = $("live-message");
    box.textContent = text;
    box.classList.toggle("problem", problem);
    box.hidden = !text;
  }

  function render() {
    const status = $("live-status");
    status.dataset.status = session.status;
    status.textContent = session.status.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
    const closed = session.status === "closed";
    const busy = BUSY.includes(session.status);
    $("live-stop").disabled = !busy;
    $("live-close").disabled = closed;
    $("live-send").disabled = closed || busy;
    $("live-observe").disabled = closed;
    $("live-screen-toggle").disabled = closed;
    if (closed && screen) stopScreen();
    $("live-confirm").hidden = !(pending && session.status === "waiting_confirmation");
    if (pending) {
      $("live-confirm-reason").textContent = `${pending.kind || "Action"}: ${pending.reason || "no reason given"}`;
      $("live-confirm-action").textContent = D.describeConfirmation(pending);
    }
  }

  function addEvent(event) {
    events.push(event);
    const list = $("live-timeline");
    list.append(D.timelineItem(event));
    list.scrollTop = list.scrollHeight;
    if (event.type === "status" && event.data.status) session.status = event.data.status;
    if (event.type === "confirmation_required") pending = event.data;
    if (event.type === "confirmation_resolved") pending = null;
    if (event.type === "screenshot" && !screen && event.data.url) showStill(event.data.url, event.data.width, event.data.height);
    render();
  }

  function showStill(src, width, height) {
    const img = $("live-screen");
    img.src = src;
    img.width = width; img.height = height;
    img.hidden = false;
    $("live-screen-placeholder").hidden = true;
  }

  function startScreen() {
    if (screen || session.status === "closed") return;
    screen = new EventSource(`${base}/screen-stream`, { withCredentials: true });
    $("live-screen-toggle").textContent = "Pause the screen";
    $("live-screen-toggle").setAttribute("aria-pressed", "true");
    $("live-screen-placeholder").textContent = "Waiting for the first frame…";
    screen.addEventListener("frame", (message) => {
      const frame = JSON.parse(message.data);
      frames += 1;
      showStill(`data:image/jpeg;base64,${frame.image}`, frame.width, frame.height);
      $("live-screen").dataset.frames = String(frames);
      $("live-screen-info").textContent = `${frame.width}×${frame.height} · ${D.time(new Date(frame.timestamp).toISOString())}`;
    });
    screen.addEventListener("error", async (message) => {
      if (message.data) { stopScreen(); say(JSON.parse(message.data).message || "The screen stream stopped.", true); return; }
      if (!screen || screen.readyState !== EventSource.CLOSED) return; // reconnecting by itself
      stopScreen();
      // EventSource hides a refusal's body: ask once more to show why (no display, session closed).
      const controller = new AbortController();
      let text = "The screen stream stopped.";
      try {
        const response = await fetch(`${base}/screen-stream`, { credentials: "same-origin", signal: controller.signal });
        if (!response.ok) text = (await response.json()).message || text;
      } catch { /* the server is gone: the generic sentence stands */ }
      controller.abort();
      $("live-screen-placeholder").textContent = text;
    });
    screen.addEventListener("end", () => stopScreen());
  }

  function stopScreen() {
    if (screen) screen.close();
    screen = null;
    $("live-screen-toggle").textContent = "Watch the screen";
    $("live-screen-toggle").setAttribute("aria-pressed", "false");
    if ($("live-screen").hidden) $("live-screen-placeholder").textContent = "The screen is not being watched.";
  }

  async function post(button, path, body) {
    button.disabled = true;
    try {
      return await D.api(`${base}${path}`, { method: "POST", body });
    } catch (error) {
      say(D.describeError(error), true);
      return null;
    } finally {
      render();
    }
  }

  $("live-command").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("live-instruction").value.trim();
    const errorBox = $("live-command-error");
    if (!text) { errorBox.textContent = "Write an instruction first."; errorBox.hidden = false; $("live-instruction").focus(); return; }
    errorBox.hidden = true;
    $("live-send").disabled = true;
    try {
      const result = await D.api(`${base}/commands`, { method: "POST", body: {
        instruction: text, authProvider: $("live-provider").value, model: $("live-model").value.trim() || undefined,
      } });
      if (result && result.status) session.status = result.status;
      else if (result && result.session) session.status = result.session.status;
      $("live-instruction").value = "";
      say("Sent. Follow it in the timeline.");
    } catch (error) {
      errorBox.textContent = D.describeError(error);
      errorBox.hidden = false;
    }
    render();
  });

  for (const [id, choice] of [["live-confirm-yes", "confirmed"], ["live-confirm-no", "declined"]]) {
    $(id).addEventListener("click", async (event) => {
      const answered = await post(event.currentTarget, "/confirm", { choice, fingerprint: pending && pending.fingerprint || undefined });
      if (answered) {
        pending = null;
        say(choice === "confirmed" ? "Confirmed: the agent does exactly that, once." : "Declined: the action is not run.");
        render();
      }
    });
  }

  $("live-stop").addEventListener("click", async (event) => {
    if (await post(event.currentTarget, "/stop")) say("Stop requested; the agent stops after its current step.");
  });
  $("live-close").addEventListener("click", async (event) => {
    const result = await post(event.currentTarget, "/close");
    if (result) { session.status = result.status || "closed"; stopScreen(); render(); say("The session is closed."); }
  });
  $("live-screen-toggle").addEventListener("click", () => (screen ? stopScreen() : startScreen()));

  $("live-observe").addEventListener("click", async (event) => {
    const result = await post(event.currentTarget, "/observe");
    if (!result) return;
    const machine = result.machine || {};
    const facts = [["Session", session.id], ["Machine", machine.name || "—"],
      ["Heartbeat", machine.lastHeartbeat ? `${D.dateTime(machine.lastHeartbeat)}${machine.online ? " (online)" : " (stale)"}` : "—"],
      ["Screen", machine.screen ? `${machine.screen.width}×${machine.screen.height}` : "—"],
      ["Driving now", machine.desktopHolder || "nobody"]];
    $("live-machine").replaceChildren(...facts.flatMap(([k, v]) => [D.el("dt", { text: k }), D.el("dd", { text: v })]));
    const windows = result.windows || [];
    $("live-windows").replaceChildren(...(windows.length ? windows.map((w) => D.el("li", {},
      w.focused ? D.el("strong", { text: w.title || "(untitled)" }) : (w.title || "(untitled)"),
      D.el("span", { class: "muted", text: ` ${w.app ? `${w.app} · ` : ""}${w.width}×${w.height} at ${w.x},${w.y}${w.focused ? " · focused" : ""}` })))
      : [D.el("li", { class: "muted", text: "No visible window." })]));
    if (result.screenshot && !screen) showStill(result.screenshot.url, result.screenshot.width, result.screenshot.height);
  });

  $("live-timeline").replaceChildren(...events.map(D.timelineItem));
  render();
  if (session.status !== "closed") {
    const lastSeq = events.length ? events[events.length - 1].seq : 0;
    D.follow(`${base}/events`, lastSeq, addEvent);
    startScreen();
  }
})();
