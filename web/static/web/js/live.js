// The live console: the near-live screen, one instruction at a time, confirmations drawn on the
// screen, observe.
"use strict";
(() => {
  const D = Deskhand;
  const BUSY = ["executing", "waiting_confirmation", "stopping", "paused"];
  let session = D.readJson("session-data");
  let events = session.events || [];
  let pending = session.pendingConfirmation || D.pendingConfirmation(events);
  let screen = null;

  const $ = (id) => document.getElementById(id);
  const base = `/api/live-sessions/${session.id}`;
  const timeline = new D.Timeline($("live-timeline"), $("live-timeline-newest"));

  function say(text, problem = false) {
    const box = $("live-message");
    box.textContent = text;
    box.classList.toggle("problem", problem);
    box.hidden = !text;
  }

  function render() {
    const shown = D.shownStatus(session);
    D.setBadge($("live-status"), shown);
    const closed = session.status === "closed";
    const busy = BUSY.includes(session.status);
    $("live-stop").disabled = !busy || shown === "stopping";
    D.pauseControls(session, { pause: $("live-pause"), resume: $("live-resume") });
    $("live-close").disabled = closed;
    $("live-send").disabled = closed || busy;
    $("live-observe").disabled = closed;
    $("live-screen-toggle").disabled = closed;
    if (closed && screen) stopScreen();
    const asking = Boolean(pending && session.status === "waiting_confirmation");
    $("live-confirm").hidden = !asking;
    if (asking) {
      const { heading, reason } = D.confirmationReason(pending);
      $("live-confirm-heading").textContent = heading;
      $("live-confirm-reason").textContent = reason;
      $("live-confirm-action").textContent = D.describeConfirmation(pending);
      const figure = D.confirmationFigure(pending, events);
      $("live-confirm-screen").replaceChildren(...(figure ? [figure] : []));
    }
    drawPendingOnScreen(asking ? pending : null);
  }

  // The pending actions drawn over the live screen too, where the eyes are. The model's pixels are
  // those of its last screenshot; the stream shows the same screen at another size, so the marks
  // scale with it. Skipped when the two do not show the same area (another aspect ratio).
  function drawPendingOnScreen(request) {
    const marks = $("live-screen-marks");
    const img = $("live-screen");
    const shot = D.lastScreenshot(events);
    const actions = request && request.action && Array.isArray(request.action.actions) ? request.action.actions : [];
    const same = shot && img.width && img.height && Math.abs(shot.data.width / shot.data.height - img.width / img.height) < 0.02;
    // An <svg> has no `hidden` property (it is not an HTMLElement): set the attribute itself.
    if (!actions.length || !same || img.hidden) { marks.setAttribute("hidden", ""); marks.replaceChildren(); return; }
    D.drawActions(marks, actions.filter((a) => a.type !== "screenshot"), shot.data.width, shot.data.height);
    marks.removeAttribute("hidden");
  }

  function addEvent(event) {
    events.push(event);
    timeline.add(event);
    const d = event.data || {};
    if (event.type === "status" && d.status) {
      const resumed = session.status === "paused" && d.status !== "paused";
      session.status = d.status;
      if (!BUSY.includes(d.status)) session.stopRequestedAt = null;
      if (resumed || !BUSY.includes(d.status)) session.pauseRequestedAt = null;
    }
    if (event.type === "confirmation_required") pending = d;
    if (event.type === "confirmation_resolved") pending = null;
    if (event.type === "message" && d.role === "user" && d.text) history.add(d.text);
    if (event.type === "screenshot" && !screen && d.url) showStill(d.url, d.width, d.height);
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
    $("live-screen-toggle").textContent = "Pause the screen";
    $("live-screen-toggle").setAttribute("aria-pressed", "true");
    $("live-screen-placeholder").textContent = "Waiting for the first frame…";
    screen = D.watchScreen(`${base}/screen-stream`, $("live-screen"), {
      onFrame: (frame) => {
        $("live-screen").hidden = false;
        $("live-screen-placeholder").hidden = true;
        $("live-screen-info").textContent = `${frame.width}×${frame.height} · ${D.time(new Date(frame.timestamp).toISOString())}`;
        if (pending) render();
      },
      onStop: (text) => {
        screen = null;
        stopScreen();
        if ($("live-screen").hidden) { $("live-screen-placeholder").hidden = false; $("live-screen-placeholder").textContent = text; }
        else if (text) say(text, session.status !== "closed");
      },
    });
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

  // The instructions sent in this session, for ↑/↓ recall (from the events: they survive a reload).
  const history = {
    items: events.filter((e) => e.type === "message" && e.data && e.data.role === "user" && e.data.text).map((e) => e.data.text),
    at: null, // index being shown, null while editing a new one
    draft: "",
    add(text) { if (this.items[this.items.length - 1] !== text) this.items.push(text); this.at = null; },
    step(by, field) {
      if (!this.items.length) return false;
      if (this.at === null) { if (by > 0) return false; this.draft = field.value; this.at = this.items.length; }
      const next = Math.min(this.items.length, Math.max(0, this.at + by));
      if (next === this.at) return false;
      this.at = next;
      field.value = next === this.items.length ? this.draft : this.items[next];
      if (next === this.items.length) this.at = null;
      return true;
    },
  };

  $("live-instruction").addEventListener("keydown", (event) => {
    const field = event.currentTarget;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      $("live-command").requestSubmit();
    } else if ((event.key === "ArrowUp" || event.key === "ArrowDown") && !event.shiftKey && !event.altKey) {
      // Only at the text's edge, so the arrows still move between lines of a longer instruction.
      const atStart = field.selectionStart === 0 && field.selectionEnd === 0;
      const atEnd = field.selectionStart === field.value.length;
      if ((event.key === "ArrowUp" && atStart) || (event.key === "ArrowDown" && (atEnd || history.at !== null))) {
        if (history.step(event.key === "ArrowUp" ? -1 : 1, field)) {
          event.preventDefault();
          field.setSelectionRange(0, 0);
        }
      }
    }
  });

  $("live-command").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("live-instruction").value.trim();
    const errorBox = $("live-command-error");
    if (!text) { errorBox.textContent = "Write an instruction first."; errorBox.hidden = false; $("live-instruction").focus(); return; }
    if ($("live-send").disabled) return;
    errorBox.hidden = true;
    $("live-send").disabled = true;
    try {
      const result = await D.api(`${base}/commands`, { method: "POST", body: {
        instruction: text, authProvider: $("live-provider").value, model: $("live-model").value.trim() || undefined,
      } });
      if (result && result.status) session.status = result.status;
      else if (result && result.session) session.status = result.session.status;
      history.add(text);
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
    const result = await post(event.currentTarget, "/stop");
    if (result) {
      session.stopRequestedAt = result.stopRequestedAt || new Date().toISOString();
      if (result.status) session.status = result.status;
      say("Stop requested: the agent stops after its current step.");
      render();
    }
  });
  for (const [id, action, note] of [
    ["live-pause", "pause", "Pause requested: the agent lets go of the desktop at its next safe point."],
    ["live-resume", "resume", "Resumed: the agent looks at the screen again, then goes on."],
  ]) {
    $(id).addEventListener("click", async (event) => {
      const result = await post(event.currentTarget, `/${action}`);
      if (result) {
        Object.assign(session, { status: result.status, pauseRequestedAt: result.pauseRequestedAt });
        say(note);
        render();
      }
    });
  }
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

  timeline.replace(events);
  render();
  if (session.status !== "closed") {
    const lastSeq = events.length ? events[events.length - 1].seq : 0;
    D.follow(`${base}/events`, lastSeq, addEvent);
    startScreen();
  }
})();
