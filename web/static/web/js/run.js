// The run page: watch a run go (facts that fill in, a ticking clock, the live screen, a timeline
// that follows), answer its questions, stop it; afterwards, the outcome first and every screen.
"use strict";
(() => {
  const D = Deskhand;
  let run = D.readJson("run-data");
  let events = run.events || [];
  let stream = null;
  let screen = null;

  const $ = (id) => document.getElementById(id);
  const timeline = new D.Timeline($("run-timeline"), $("run-timeline-newest"));
  const active = () => D.ACTIVE.includes(run.status);
  const MODE_WORDS = { model: "Model", replay: "Replay of a recording", auto: "Autopilot (a recording when one fits)" };

  function say(text, problem = false) {
    const box = $("run-message");
    box.textContent = text;
    box.classList.toggle("problem", problem);
    box.hidden = !text;
  }

  // What the events already tell before the record does: when it started, the route, the turns, the tokens.
  function progress() {
    let startedAt = run.startedAt, route = run.route ? { route: run.route } : null, usage = null, turns = 0;
    for (const event of events) {
      const d = event.data || {};
      if (event.type === "status" && d.status === "running" && !startedAt) startedAt = event.createdAt;
      else if (event.type === "agent_route") route = d;
      else if (event.type === "usage") {
        usage = d.cumulative || usage;
        // The turn budget counts the calls of the agent doing the work, not the router's or planner's.
        if (d.agent === "desktop" || d.agent === "cli") turns += 1;
      }
    }
    const total = run.usage && (run.usage.input_tokens !== undefined || run.usage.inputTokens !== undefined) && !active() ? run.usage : usage;
    return { startedAt, route, usage: total, turns };
  }

  function tokens(usage) {
    if (!usage) return "—";
    const input = usage.input_tokens ?? usage.inputTokens, output = usage.output_tokens ?? usage.outputTokens;
    return input === undefined ? "—" : `${D.number(input)} in, ${D.number(output)} out`;
  }

  function renderPulse() {
    const p = progress();
    const maxTurns = run.scenario && run.scenario.limits && run.scenario.limits.maxTurns;
    if (run.status === "queued") $("run-elapsed").textContent = `queued for ${D.clock(run.createdAt)}`;
    else $("run-elapsed").textContent = D.clock(p.startedAt, run.finishedAt);
    $("run-turn").textContent = p.turns ? (maxTurns && p.route && p.route.route !== "planner" ? `${p.turns} of ${maxTurns}` : String(p.turns)) : "—";
    $("run-tokens").textContent = tokens(p.usage);
    $("run-route").textContent = p.route && p.route.route ? D.routeName(p.route) : "—";
    $("run-machine").textContent = run.machine || "—";
    $("run-split").textContent = splitWords(D.replaySplit(events));
    return p;
  }

  // The replayed/model split of the run's steps, as the events tell it while the run goes.
  function splitWords(split) {
    if (!split.replaying && !run.replayOf) return run.mode === "auto" && !active() ? "no recording fitted" : "—";
    const model = split.model ? `, ${split.model} by the model` : "";
    const where = split.diverged ? ` (took over at step ${split.diverged.step})` : "";
    return `${split.replayed} replayed${model}${where}`;
  }

  function renderRecord() {
    const shown = D.shownStatus(run);
    D.setBadge($("run-status"), shown);
    const p = renderPulse();
    const facts = [
      ["Scenario", run.scenarioId], ["Id", run.id], ["Status", `${D.words(shown)}${run.statusReason ? `: ${run.statusReason}` : ""}`],
      ["Model", run.model], ["Provider", run.authProvider === "codex-oauth" ? "ChatGPT account" : "API key"],
      ["Created", D.dateTime(run.createdAt)], ["Started", D.dateTime(p.startedAt)], ["Finished", D.dateTime(run.finishedAt)],
      ["Duration", p.startedAt ? D.duration(p.startedAt, run.finishedAt) : "—"], ["Events", String(Math.max(run.eventCount || 0, events.length))],
      ["Input", Object.keys(run.input || {}).length ? D.json(run.input) : "—"],
      ["Mode", MODE_WORDS[run.mode] || run.mode || "—"], ["Model calls", active() ? "—" : String(run.modelCalls ?? 0)],
    ];
    const list = $("run-facts");
    list.replaceChildren(...facts.flatMap(([k, v]) => [D.el("dt", { text: k }), D.el("dd", { text: v })]));
    if (run.retryOf) list.append(D.el("dt", { text: "Retry of" }), D.el("dd", {}, D.el("a", { href: `/runs/${run.retryOf}`, text: run.retryOf })));
    for (const id of run.retries || []) list.append(D.el("dt", { text: "Retried as" }), D.el("dd", {}, D.el("a", { href: `/runs/${id}`, text: id })));
    if (run.replayOf) {
      list.append(D.el("dt", { text: "Replays" }), D.el("dd", {}, D.el("a", { href: `/runs/${run.replayOf}`, text: run.replayOf })));
      if (!active()) {
        const took = run.divergedAtStep ? `; the model took over at step ${run.divergedAtStep}` : "";
        list.append(D.el("dt", { text: "Replayed steps" }), D.el("dd", { text: `${run.replayedSteps}${took}` }));
      }
    }
    if (run.status === "succeeded") {
      const form = `/runs/new?scenario=${encodeURIComponent(run.scenarioId)}&replayOf=${encodeURIComponent(run.id)}`;
      list.append(D.el("dt", { text: "Recording" }), D.el("dd", {}, D.el("a", { href: form, id: "run-replay-form", text: "Replay it with another input" })));
    }
    $("run-split-legend").hidden = !run.replayOf && !D.replaySplit(events).replaying;

    const going = active();
    const outcome = $("run-outcome");
    outcome.hidden = going;
    outcome.dataset.status = run.status;
    $("run-summary").textContent = run.summary || (going ? "Not finished yet." : run.error ? "" : "No summary.");
    $("run-error").textContent = run.error || "";
    $("run-error").hidden = !run.error;
    $("run-stop").disabled = !going || shown === "stopping";
    D.pauseControls(run, { pause: $("run-pause"), resume: $("run-resume") });
    $("run-retry").disabled = going;
    $("run-replay-now").hidden = run.status !== "succeeded";
    if (shown === "stopping") say("Stop requested: the run ends after its current step.");
    else if (shown === "pausing") say("Pause requested: the agent lets go of the desktop at its next safe point.");
    else if (shown === "paused") say("Paused: the desktop is yours. Resume when you are done; the agent looks at the screen again first.");
    else if (/^(Stop|Pause) requested|^Paused:/.test($("run-message").textContent)) say("");
    document.title = `${D.words(shown)} · ${run.title || run.scenarioId} · Deskhand`;
    renderConfirmation();
    renderScreen();
  }

  function renderConfirmation() {
    const pending = run.status === "waiting_confirmation" ? D.pendingConfirmation(events) : null;
    $("run-confirm").hidden = !pending;
    if (!pending) return;
    const { heading, reason } = D.confirmationReason(pending);
    $("run-confirm-heading").textContent = heading;
    $("run-confirm-reason").textContent = reason;
    $("run-confirm-action").textContent = D.describeConfirmation(pending);
    $("run-confirm").dataset.fingerprint = pending.fingerprint || "";
    const figure = D.confirmationFigure(pending, events);
    $("run-confirm-screen").replaceChildren(...(figure ? [figure] : []));
  }

  function renderFrames() {
    const frames = D.buildFrames(events);
    $("run-frames").replaceChildren(...frames.map((f, i) => D.frameFigure(f, i)));
    $("run-frames-empty").hidden = frames.length > 0;
    // Not watching live: the newest step screen, large, with what was done on it.
    const last = frames.length ? frames[frames.length - 1] : null;
    $("run-last-frame").replaceChildren(...(last && !screen ? [D.frameFigure(last, frames.length - 1)] : []));
    if (!screen) $("run-screen-info").textContent = last ? `step ${frames.length} of ${frames.length}` : "No screenshot yet.";
  }

  // The live screen while the run drives the desktop; the step screens once it ends.
  function renderScreen() {
    const watching = active() && run.status !== "queued";
    if (watching && !screen && !$("run-live").dataset.refused) {
      $("run-live").hidden = false;
      $("run-last-frame").replaceChildren();
      $("run-screen-info").textContent = "live";
      screen = D.watchScreen(`/api/runs/${run.id}/screen-stream`, $("run-live-screen"), {
        onFrame: (frame) => {
          $("run-live-screen").hidden = false;
          $("run-live-placeholder").hidden = true;
          $("run-screen-info").textContent = `live · ${frame.width}×${frame.height} · ${D.time(new Date(frame.timestamp).toISOString())}`;
        },
        onStop: (text) => {
          screen = null;
          if (active()) {
            // Refused (no display here, say): keep the reason in view instead of retrying.
            $("run-live").dataset.refused = "1";
            $("run-live-screen").hidden = true;
            $("run-live-placeholder").hidden = false;
            $("run-live-placeholder").textContent = `${text} The step screens follow below.`;
            $("run-screen-info").textContent = "";
          } else {
            $("run-live").hidden = true;
          }
          renderFrames();
        },
      });
    } else if (!watching && screen) {
      screen.close();
      screen = null;
      $("run-live").hidden = true;
      renderFrames();
    }
  }

  async function refresh({ withEvents }) {
    try {
      const fresh = await D.api(`/api/runs/${run.id}`);
      if (withEvents) {
        events = fresh.events || [];
        timeline.replace(events);
        renderFrames();
      }
      run = { ...fresh, events: undefined };
      renderRecord();
    } catch (error) {
      say(D.describeError(error), true);
    }
  }

  function addEvent(event) {
    events.push(event);
    timeline.add(event);
    const d = event.data || {};
    if (event.type === "status" && d.status) {
      const before = run.status;
      run.status = d.status;
      if (d.reason) run.statusReason = d.reason;
      if (!D.ACTIVE.includes(d.status)) { run.finishedAt = run.finishedAt || event.createdAt; refresh({ withEvents: true }); }
      else if (before !== d.status) refresh({ withEvents: false }); // the machine, the start time
    }
    if (["screenshot", "tool_call"].includes(event.type)) renderFrames();
    renderRecord();
  }

  function watch() {
    if (stream || !active()) return;
    const lastSeq = events.length ? events[events.length - 1].seq : 0;
    stream = D.follow(`/api/runs/${run.id}/events`, lastSeq, addEvent, {
      onEnd: () => { stream = null; refresh({ withEvents: true }); },
    });
  }

  async function act(button, path, body, done) {
    button.disabled = true;
    try {
      const result = await D.api(path, { method: "POST", body });
      done(result);
    } catch (error) {
      say(D.describeError(error), true);
      button.disabled = false;
    }
  }

  $("run-stop").addEventListener("click", (e) => act(e.currentTarget, `/api/runs/${run.id}/stop`, undefined, (r) => {
    run = { ...run, ...r, events: undefined };
    renderRecord();
  }));
  for (const [id, action] of [["run-pause", "pause"], ["run-resume", "resume"]]) {
    $(id).addEventListener("click", (e) => act(e.currentTarget, `/api/runs/${run.id}/${action}`, undefined, (r) => {
      run = { ...run, ...r, events: undefined };
      renderRecord();
    }));
  }
  // Replay: the same input again from this run's recording. Secret inputs are not kept, so a run
  // that had some goes to the form, where they are typed again.
  $("run-replay-now").addEventListener("click", (e) => {
    if (Object.values(run.input || {}).includes("***")) {
      window.location.assign(`/runs/new?scenario=${encodeURIComponent(run.scenarioId)}&replayOf=${encodeURIComponent(run.id)}`);
      return;
    }
    act(e.currentTarget, "/api/runs", { scenarioId: run.scenarioId, authProvider: run.authProvider, model: run.model, input: run.input, replayOf: run.id },
      (r) => window.location.assign(`/runs/${r.id}`));
  });
  $("run-retry").addEventListener("click", (e) => act(e.currentTarget, `/api/runs/${run.id}/retry`, undefined, (r) => {
    window.location.assign(`/runs/${r.id}`);
  }));
  for (const [id, choice] of [["run-confirm-yes", "confirmed"], ["run-confirm-no", "declined"]]) {
    $(id).addEventListener("click", (e) => {
      const button = e.currentTarget;
      const fingerprint = $("run-confirm").dataset.fingerprint || undefined;
      act(button, `/api/runs/${run.id}/confirm`, { choice, fingerprint }, () => {
        say(choice === "confirmed" ? "Confirmed: the run does exactly that, once." : "Declined: the action is not run.");
        $("run-confirm").hidden = true;
        button.disabled = false;
      });
    });
  }

  timeline.replace(events);
  renderFrames();
  renderRecord();
  watch();
  // The page reads the run, then its events: a run that changed status in between (a warm worker
  // starts a run within ~50 ms of its POST) brings its status event here, and the stream, which
  // starts after it, never sends it again. Read the run once more: it is now as new as its events.
  const lastStatus = events.filter((e) => e.type === "status" && e.data && e.data.status).pop();
  if (lastStatus && lastStatus.data.status !== run.status) refresh({ withEvents: false });
  // The clock ticks while the run goes.
  setInterval(() => { if (active()) renderPulse(); }, 1000);
})();
