// The run page: the record, the timeline, the screens; live while the run is active.
"use strict";
(() => {
  const D = Deskhand;
  const ACTIVE = ["queued", "running", "waiting_confirmation"];
  let run = D.readJson("run-data");
  let events = run.events || [];
  let stream = null;

  const $ = (id) => document.getElementById(id);

  function say(text, problem = false) {
    const box = $("run-message");
    box.textContent = text;
    box.classList.toggle("problem", problem);
    box.hidden = !text;
  }

  function renderRecord() {
    const status = $("run-status");
    status.dataset.status = run.status;
    status.textContent = run.status.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
    const usage = run.usage || {};
    const tokens = usage.input_tokens !== undefined || usage.inputTokens !== undefined
      ? `${usage.input_tokens ?? usage.inputTokens} in, ${usage.output_tokens ?? usage.outputTokens} out` : "";
    const facts = [
      ["Scenario", run.scenarioId], ["Id", run.id], ["Status", `${run.status.replace(/_/g, " ")}${run.statusReason ? ` — ${run.statusReason}` : ""}`],
      ["Model", run.model], ["Provider", run.authProvider], ["Route", run.route || "—"], ["Machine", run.machine || "—"],
      ["Created", D.dateTime(run.createdAt)], ["Started", D.dateTime(run.startedAt)], ["Finished", D.dateTime(run.finishedAt)],
      ["Duration", D.duration(run.startedAt, run.finishedAt)], ["Events", String(Math.max(run.eventCount || 0, events.length))],
      ["Tokens", tokens || "—"], ["Input", Object.keys(run.input || {}).length ? D.json(run.input) : "—"],
    ];
    const list = $("run-facts");
    list.replaceChildren(...facts.flatMap(([k, v]) => [D.el("dt", { text: k }), D.el("dd", { text: v })]));
    if (run.retryOf) list.append(D.el("dt", { text: "Retry of" }), D.el("dd", {}, D.el("a", { href: `/runs/${run.retryOf}`, text: run.retryOf })));
    for (const id of run.retries || []) list.append(D.el("dt", { text: "Retried as" }), D.el("dd", {}, D.el("a", { href: `/runs/${id}`, text: id })));
    $("run-summary").textContent = run.summary || (ACTIVE.includes(run.status) ? "Not finished yet." : "No summary.");
    $("run-error").textContent = run.error || "";
    const active = ACTIVE.includes(run.status);
    $("run-stop").disabled = !active;
    $("run-retry").disabled = active;
    renderConfirmation();
  }

  function renderConfirmation() {
    const pending = run.status === "waiting_confirmation" ? D.pendingConfirmation(events) : null;
    $("run-confirm").hidden = !pending;
    if (!pending) return;
    $("run-confirm-reason").textContent = `${pending.kind || "Action"}: ${pending.reason || "no reason given"}`;
    $("run-confirm-action").textContent = D.describeConfirmation(pending);
    $("run-confirm").dataset.fingerprint = pending.fingerprint || "";
  }

  function renderFrames() {
    const frames = D.buildFrames(events);
    $("run-frames").replaceChildren(...frames.map(D.frameFigure));
    $("run-frames-empty").hidden = frames.length > 0;
  }

  function addEvent(event) {
    events.push(event);
    $("run-timeline").append(D.timelineItem(event));
    if (event.type === "status" && event.data.status) {
      run.status = event.data.status;
      if (event.data.reason) run.statusReason = event.data.reason;
    }
    if (["screenshot", "tool_call"].includes(event.type)) renderFrames();
    renderRecord();
    if (event.type === "status" && !ACTIVE.includes(event.data.status)) refresh();
  }

  async function refresh() {
    try {
      const fresh = await D.api(`/api/runs/${run.id}`);
      run = fresh;
      events = fresh.events || [];
      $("run-timeline").replaceChildren(...events.map(D.timelineItem));
      renderFrames();
      renderRecord();
    } catch (error) {
      say(D.describeError(error), true);
    }
  }

  function watch() {
    if (stream || !ACTIVE.includes(run.status)) return;
    const lastSeq = events.length ? events[events.length - 1].seq : 0;
    stream = D.follow(`/api/runs/${run.id}/events`, lastSeq, addEvent, {
      onEnd: () => { stream = null; refresh(); },
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
    say("Stop requested; the run ends after its current step.");
    run = { ...run, ...r };
    renderRecord();
  }));
  $("run-retry").addEventListener("click", (e) => act(e.currentTarget, `/api/runs/${run.id}/retry`, undefined, (r) => {
    window.location.assign(`/runs/${r.id}`);
  }));
  for (const [id, choice] of [["run-confirm-yes", "confirmed"], ["run-confirm-no", "declined"]]) {
    $(id).addEventListener("click", (e) => {
      const button = e.currentTarget;
      const fingerprint = $("run-confirm").dataset.fingerprint || undefined;
      act(button, `/api/runs/${run.id}/confirm`, { choice, fingerprint }, () => {
        say(choice === "confirmed" ? "Confirmed; the run goes on." : "Declined; the action is not run.");
        $("run-confirm").hidden = true;
        button.disabled = false;
      });
    });
  }

  $("run-timeline").replaceChildren(...events.map(D.timelineItem));
  renderFrames();
  renderRecord();
  watch();
})();
