"""Autopilot on the Django side: which recording a new run replays, whether it can, and the
recording itself for the worker. The replaying is the engine's (agent/replay.py).

A recording is a succeeded run: its events (what was done, on which screenshot) and the
screenshots they point at (agent/recording.py reads them). A run replays one when it is asked to
(`replayOf`, or `mode: "replay"`: the newest that fits), or by default for a scenario marked
`autopilot: true` (`mode: "auto"`: the newest that fits, else the model). One fits when it
repeats only what was done on the screen and every input the new run changes was typed by it,
so the new values can be typed in its place.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from agent.recording import Recording, Refill, ReplayPlan, recording_read
from core.errors import Conflict, InvalidInput
from events.models import Event, Screenshot
from runs.models import Run, RunMode
from scenarios.catalog import Scenario

# The event types a recording is read from.
RECORDING_EVENTS = ("screenshot", "tool_call", "computer_action", "confirmation_required")
# How many of a scenario's newest succeeded runs "auto" and "replay" look through for one that fits.
CANDIDATES = 20


@dataclass(frozen=True)
class ReplayChoice:
    mode: str  # the mode asked for (or the scenario's default)
    recording: Run | None  # the run replayed; None: the model does it
    note: str = ""  # why, in a sentence, for the queued status event


def _recording(run: Run) -> Recording:
    rows = Event.objects.filter(owner_id=run.pk, type__in=RECORDING_EVENTS).order_by("seq")
    recording = recording_read(run.pk, rows.values_list("type", "data"))
    recording.input = dict(run.input or {})
    return recording


def _refill(scenario: Scenario, recording: Recording, values: dict) -> Refill:
    return Refill(recording.input, values, scenario.secret_inputs)


def _unfit(scenario: Scenario, recording: Recording, values: dict, secrets: dict) -> list[tuple[str, str]]:
    """(field, why) for what keeps the new run from replaying `recording`; empty when it fits."""
    if recording.problems:
        return [("replayOf", problem) for problem in recording.problems]
    refill = _refill(scenario, recording, values)
    problems = refill.problems(recording.typed, secrets_given=secrets, secret_names=scenario.secret_inputs)
    return [(f"input.{name}", why) for name, why in problems]


def replay_choose(
    *, scenario: Scenario, values: dict, secrets: dict, mode: str | None, replay_of: str | None
) -> ReplayChoice:
    """The mode of a new run of `scenario` with input `values`, and the run it replays.

    Raises InvalidInput for a request that contradicts itself or names no run of the scenario, and
    Conflict when the named (or any) recording cannot be replayed with this input.
    """
    if mode is None:
        mode = RunMode.REPLAY if replay_of else (RunMode.AUTO if scenario.autopilot else RunMode.MODEL)
    if mode == RunMode.MODEL:
        if replay_of:
            raise InvalidInput("mode", 'the mode "model" never replays; leave out replayOf, or ask for mode "replay"')
        return ReplayChoice(mode, None)
    if replay_of:
        return ReplayChoice(mode, recording_check(run_id=replay_of, scenario=scenario, values=values, secrets=secrets))
    newest, why = recording_newest(scenario=scenario, values=values, secrets=secrets)
    if newest is not None:
        return ReplayChoice(mode, newest)
    if mode == RunMode.REPLAY:
        raise Conflict(
            f'Nothing to replay: {why}. A run with the model (mode "model" or "auto") that succeeds records one.',
            code="no_recording",
        )
    return ReplayChoice(mode, None, f"Autopilot found no recording to replay ({why}): the model does it.")


def recording_check(*, run_id: str, scenario: Scenario, values: dict, secrets: dict) -> Run:
    """The run `run_id`, if a new run of `scenario` with `values` can replay it."""
    run = Run.objects.filter(pk=run_id).first()
    if run is None:
        raise InvalidInput("replayOf", f"no run {run_id!r}; GET /api/runs lists them")
    if run.scenario_id != scenario.id:
        raise InvalidInput("replayOf", f"run {run_id} is a run of {run.scenario_id!r}, not of {scenario.id!r}")
    if run.status != Run.Status.SUCCEEDED:
        raise Conflict(
            f"Run {run_id} is {run.status}: only a succeeded run is a recording to replay.",
            code="recording_not_succeeded",
            details={"field": "replayOf", "status": run.status},
        )
    problems = _unfit(scenario, _recording(run), values, secrets)
    if problems:
        field, why = problems[0]
        if field == "replayOf":
            raise Conflict(
                f"Run {run_id} cannot be replayed: {why}.",
                code="recording_not_replayable",
                details={"field": "replayOf", "problems": [p for _, p in problems]},
            )
        raise Conflict(
            f"Run {run_id} cannot be replayed with this input: {field}: {why}.",
            code="recording_not_refillable",
            details={"field": field, "errors": [{"field": f, "message": m} for f, m in problems]},
        )
    return run


def recording_newest(*, scenario: Scenario, values: dict, secrets: dict) -> tuple[Run | None, str]:
    """The newest succeeded run of `scenario` that a run with `values` can replay: made by the
    scenario as it is now (an edited instruction may mean other steps), doing only screen work,
    and having typed every input that changes. Else None, and why, in words."""
    runs = Run.objects.filter(scenario_id=scenario.id, status=Run.Status.SUCCEEDED).order_by("-created_at", "-pk")
    why = f"there is no succeeded run of {scenario.id!r} yet"
    for index, run in enumerate(runs[:CANDIDATES]):
        if (run.scenario or {}).get("instruction", scenario.instruction) != scenario.instruction:
            problems = [("replayOf", "it was made when the scenario's instruction was different")]
        else:
            problems = _unfit(scenario, _recording(run), values, secrets)
        if not problems:
            return run, ""
        if index == 0:
            field, problem = problems[0]
            where = f"{field}: " if field.startswith("input.") else ""
            why = f"the newest succeeded run, {run.pk}, cannot be replayed with this input ({where}{problem})"
    return None, why


def replay_plan(*, run: Run, scenario: Scenario) -> ReplayPlan | None:
    """What the engine needs to replay `run.replay_of`: its recording with the screenshots it looks
    at, and the re-fill for `run`'s input. None when there is nothing to replay (the recorded run was
    deleted since; the model does the run)."""
    original = run.replay_of
    if original is None:
        return None
    recording = _recording(original)
    for shot in Screenshot.objects.filter(owner_id=original.pk, pk__in=recording.shots):
        try:
            with shot.file.open("rb") as handle:
                recording.images[shot.pk] = handle.read()
        except (OSError, ValueError):
            continue  # the replay stops at the step that needs it, and the model takes over there
    return ReplayPlan(recording, _refill(scenario, recording, run.input or {}), wait_s=settings.REPLAY_WAIT_SECONDS)


def replay_outcome_fields(*, model_calls: int, replay: dict | None) -> dict:
    """The Run columns that say how an execution went without (or with) the model."""
    replay = replay or {}
    return {
        "model_calls": model_calls,
        "replayed_steps": int(replay.get("replayed") or 0),
        "replay_diverged_at": replay.get("divergedAt"),
    }
