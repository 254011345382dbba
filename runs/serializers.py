"""The output shapes of runs and of what runs share with live sessions: one serializer per
resource, used by the API, the history, the pages and the replay archive alike (and documenting
each in the OpenAPI schema). A new field is one line here and shows everywhere."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.serializers import ConstantField, LinksField, TimestampField
from events.selectors import event_list
from events.serializers import EventSerializer
from runs import selectors
from runs.models import AuthProvider, Confirmation, Machine, Run, RunMode
from scenarios.serializers import ScenarioSerializer

USAGE_HELP = "Tokens used so far: input_tokens, output_tokens, total_tokens."
# "Title (scenario or first instruction)": a run's title, else its instruction, else its scenario.
TITLE_CHARS = 200


class ScreenSizeSerializer(serializers.Serializer):
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class CurrentExecutionSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["run", "session"])
    id = serializers.CharField()


# A machine record names at most this many of the runs waiting for it (`queuedRuns` counts them all).
QUEUED_IDS_SHOWN = 10


class MachineSerializer(serializers.Serializer):
    """A desktop that a worker drives: `GET /api/machines`, health's workers, an observation's machine."""

    name = serializers.CharField(help_text="DESKHAND_MACHINE_NAME of its worker; what `machine` asks for.")
    status = serializers.SerializerMethodField(
        help_text="offline (no fresh worker heartbeat), idle (online, desktop free) or busy (a run or live "
        "command drives it)."
    )
    platform = serializers.CharField()
    screen = serializers.SerializerMethodField()
    displayReachable = serializers.BooleanField(source="display_reachable")
    lastHeartbeat = TimestampField(source="last_heartbeat", allow_null=True)
    heartbeatAgeSeconds = serializers.SerializerMethodField(
        help_text="Seconds since its worker's last heartbeat; null when it never beat or shut down."
    )
    online = serializers.SerializerMethodField(
        help_text="Its worker heartbeat within DESKHAND_HEARTBEAT_STALE_SECONDS."
    )
    busy = serializers.SerializerMethodField(help_text="An execution drives its desktop now.")
    desktopHolder = serializers.CharField(
        source="desktop_holder", allow_null=True, help_text="The run or live session driving the desktop now."
    )
    current = serializers.SerializerMethodField(help_text="What it is doing now: the run or session, or null (idle).")
    queuedRuns = serializers.SerializerMethodField(
        help_text="Queued runs waiting for this machine: asked for by name, or handed to it and not started yet."
    )
    queuedRunIds = serializers.SerializerMethodField(
        help_text=f"The oldest {QUEUED_IDS_SHOWN} of them, oldest (next) first."
    )

    def get_status(self, machine: Machine) -> str:
        return selectors.machine_status(machine)

    @extend_schema_field(ScreenSizeSerializer(allow_null=True))
    def get_screen(self, machine: Machine) -> dict | None:
        if not machine.screen_width:
            return None
        return {"width": machine.screen_width, "height": machine.screen_height}

    def get_heartbeatAgeSeconds(self, machine: Machine) -> float | None:
        if not machine.last_heartbeat:
            return None
        return round(max(0.0, (timezone.now() - machine.last_heartbeat).total_seconds()), 1)

    def get_online(self, machine: Machine) -> bool:
        return selectors.machine_status(machine) != selectors.MachineStatus.OFFLINE

    def get_busy(self, machine: Machine) -> bool:
        return bool(machine.desktop_holder)

    @extend_schema_field(CurrentExecutionSerializer(allow_null=True))
    def get_current(self, machine: Machine) -> dict | None:
        holder = machine.desktop_holder
        if not holder:
            return None
        return {"kind": "run" if holder.startswith("run_") else "session", "id": holder}

    def get_queuedRuns(self, machine: Machine) -> int:
        return len(self._queued(machine))

    def get_queuedRunIds(self, machine: Machine) -> list[str]:
        return self._queued(machine)[:QUEUED_IDS_SHOWN]

    def _queued(self, machine: Machine) -> list[str]:
        if not hasattr(machine, "queued_run_ids"):  # a machine the selectors did not read (an observation's)
            selectors.machines_with_queues([machine])
        return machine.queued_run_ids

    def to_representation(self, machine: Machine) -> dict:
        record = super().to_representation(machine)
        record["desktopHolder"] = record["desktopHolder"] or None
        return record


class ConfirmationSerializer(serializers.Serializer):
    """A person's approval of one exact action, asked for by a run or a live session."""

    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="shell, gui, safety_check, browser ...")
    action = serializers.DictField(help_text="Exactly what would be done.")
    reason = serializers.CharField(help_text="Why it needs a person.")
    fingerprint = serializers.CharField(help_text="Binds an answer to this exact action.")
    status = serializers.ChoiceField(choices=Confirmation.Status.choices)
    createdAt = TimestampField(source="created_at")
    resolvedAt = TimestampField(source="resolved_at", allow_null=True)


class ExecutionSerializer(serializers.Serializer):
    """What a run and a live session share: both are executions of the agent on a machine."""

    # The statuses in which a confirmation may be pending (set by each subclass).
    asking_statuses: tuple[str, ...] = ()

    id = serializers.CharField()
    title = serializers.SerializerMethodField()
    statusReason = serializers.CharField(source="status_reason", help_text="Why it is in its status, when it says.")
    authProvider = serializers.ChoiceField(source="auth_provider", choices=AuthProvider.choices)
    model = serializers.CharField()
    machine = serializers.CharField(source="machine.name", allow_null=True, help_text="The desktop it runs on.")
    usage = serializers.DictField(child=serializers.IntegerField(), help_text=USAGE_HELP)
    eventCount = serializers.IntegerField(source="event_count")
    pendingConfirmation = serializers.SerializerMethodField(help_text="The action waiting for a person, if any.")
    createdAt = TimestampField(source="created_at")
    costUsd = serializers.SerializerMethodField(
        help_text="An estimate of what the tokens cost, in US dollars, when the model's price is configured "
        "(DESKHAND_MODEL_PRICES); null otherwise."
    )
    heartbeatAt = TimestampField(source="heartbeat_at", allow_null=True, help_text="The worker's last sign of life.")
    stopRequestedAt = TimestampField(source="stop_requested_at", allow_null=True)
    pauseRequestedAt = TimestampField(
        source="pause_requested_at", allow_null=True, help_text="Set while a person has asked for the desktop."
    )

    def get_title(self, owner) -> str:
        return owner.title

    def get_costUsd(self, owner) -> float | None:
        return selectors.cost_estimate(model=owner.model, usage=owner.usage or {})

    @extend_schema_field(ConfirmationSerializer(allow_null=True))
    def get_pendingConfirmation(self, owner) -> dict | None:
        if owner.status not in self.asking_statuses:
            return None
        pending = selectors.confirmation_pending(owner_id=owner.pk)
        return ConfirmationSerializer(pending).data if pending else None

    def to_representation(self, owner) -> dict:
        record = super().to_representation(owner)
        record["usage"] = owner.usage or {}
        return record


class RunSerializer(ExecutionSerializer):
    """A run: one scenario executed once. `GET /api/runs` items, `POST /api/runs`, stop and retry."""

    asking_statuses = (Run.Status.RUNNING, Run.Status.WAITING_CONFIRMATION)

    kind = ConstantField("run")
    status = serializers.ChoiceField(choices=Run.Status.choices)
    scenarioId = serializers.CharField(source="scenario_id")
    requestedMachine = serializers.CharField(
        source="requested_machine", help_text="The machine it must run on; empty: the first free one."
    )
    limits = serializers.DictField(help_text="Its own limits over the scenario's: maxTurns, timeoutSeconds, maxTokens.")
    input = serializers.DictField(help_text="The scenario's input, defaults filled in.")
    instruction = serializers.CharField(help_text="The scenario's instruction filled from the input.")
    route = serializers.CharField(help_text="desktop, cli or planner once routed; empty before.")
    retryOf = serializers.CharField(source="retry_of_id", allow_null=True, help_text="The run this one retries.")
    retries = serializers.SerializerMethodField(help_text="Runs that retry this one, oldest first.")
    mode = serializers.ChoiceField(
        choices=RunMode.choices,
        help_text='How it gets its steps, as asked: "model" (the model decides each), "replay" (a recording, the '
        'model only where the screen differs) or "auto" (the newest recording that fits, else the model).',
    )
    replayOf = serializers.CharField(
        source="replay_of_id", allow_null=True, help_text="The succeeded run whose recording it replays; null: none."
    )
    replayedSteps = serializers.IntegerField(
        source="replayed_steps", help_text="Steps done from the recording without the model (set when it ends)."
    )
    divergedAtStep = serializers.IntegerField(
        source="replay_diverged_at",
        allow_null=True,
        help_text="The recorded step where the screen differed and the model took over; null when it did not.",
    )
    modelCalls = serializers.IntegerField(
        source="model_calls", help_text="Requests made to the model, router included (set when it ends)."
    )
    summary = serializers.CharField(help_text="The agent's final report.")
    error = serializers.CharField()
    startedAt = TimestampField(source="started_at", allow_null=True)
    finishedAt = TimestampField(source="finished_at", allow_null=True)
    endedAt = TimestampField(source="finished_at", allow_null=True, help_text="finishedAt, by the name history uses.")
    links = LinksField(self="/api/runs/{id}", events="/api/runs/{id}/events", replay="/api/runs/{id}/replay")

    def get_title(self, run: Run) -> str:
        return run.title or (run.instruction or "")[:TITLE_CHARS] or run.scenario_id

    def get_retries(self, run: Run) -> list[str]:
        # Prefetched by the selectors for whole pages; sorted here so any caller gets the same order.
        return [retry.pk for retry in sorted(run.retries.all(), key=lambda r: (r.created_at, r.pk))]


class RunDetailSerializer(RunSerializer):
    """`GET /api/runs/:id` (and a run in the history): the run, its scenario as it was, its events."""

    scenario = serializers.SerializerMethodField(help_text="The scenario as it was when the run was created.")
    events = serializers.SerializerMethodField(help_text="Every event so far, oldest first.")

    @extend_schema_field(ScenarioSerializer(allow_null=True))
    def get_scenario(self, run: Run) -> dict | None:
        # Stored as `Scenario.as_dict()` wrote it when the run was created: the Scenario shape.
        return run.scenario or None

    @extend_schema_field(EventSerializer(many=True))
    def get_events(self, run: Run) -> list[dict]:
        return EventSerializer(event_list(owner_id=run.pk), many=True).data
