"""Runs (scenario executions) and the machines whose desktops execute them."""

import uuid

from django.db import models
from django.utils import timezone


def new_run_id() -> str:
    return f"run_{uuid.uuid4().hex}"


class AuthProvider(models.TextChoices):
    API_KEY = "api-key", "API key"
    CODEX_OAUTH = "codex-oauth", "ChatGPT account (Codex OAuth)"


class RunMode(models.TextChoices):
    """How a run gets its steps (autopilot: runs.recordings, agent/replay.py)."""

    MODEL = "model", "The model decides every step"
    REPLAY = "replay", "Replays a recording; the model only where the screen differs"
    AUTO = "auto", "Replays the newest recording that fits, else the model"


class Machine(models.Model):
    """A desktop that workers drive. `desktop_holder` is the one execution driving it now."""

    name = models.CharField(max_length=200, unique=True)
    platform = models.CharField(max_length=100, blank=True)
    screen_width = models.PositiveIntegerField(null=True, blank=True)
    screen_height = models.PositiveIntegerField(null=True, blank=True)
    display_reachable = models.BooleanField(default=False)
    last_heartbeat = models.DateTimeField(null=True, blank=True)
    # The run or live-session id holding the desktop; claimed with one conditional UPDATE.
    desktop_holder = models.CharField(max_length=40, blank=True, default="")
    desktop_claimed_at = models.DateTimeField(null=True, blank=True)
    # Refreshed by the holder while it drives the desktop; a stale value lets the sweeper free it
    # whatever kind of execution (run or live command) the holder is.
    desktop_heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class Run(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        WAITING_CONFIRMATION = "waiting_confirmation"
        PAUSED = "paused"  # a person took the desktop over; resumes on request
        STOPPING = "stopping"  # a stop was accepted; the execution is winding down
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        STOPPED = "stopped"
        INTERRUPTED = "interrupted"

    # Held by a worker (picked up and started): what a stop, a pause and the sweeper act on.
    EXECUTING = (Status.RUNNING, Status.WAITING_CONFIRMATION, Status.PAUSED, Status.STOPPING)
    ACTIVE = (Status.QUEUED, *EXECUTING)
    TERMINAL = (Status.SUCCEEDED, Status.FAILED, Status.STOPPED, Status.INTERRUPTED)

    id = models.CharField(primary_key=True, max_length=40, default=new_run_id, editable=False)
    scenario_id = models.CharField(max_length=100)
    # The scenario as it was when the run was created: a retry or a replay must not change meaning
    # because someone edited the file since.
    scenario = models.JSONField(default=dict, blank=True)
    title = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.QUEUED)
    auth_provider = models.CharField(max_length=20, choices=AuthProvider.choices)
    model = models.CharField(max_length=100)
    input = models.JSONField(default=dict, blank=True)
    instruction = models.TextField(blank=True)
    route = models.CharField(max_length=20, blank=True)
    retry_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries")
    # Autopilot: the mode asked for, and the succeeded run whose recording this one replays (None:
    # the model does it). What happened: steps done from the recording, the step where the screen
    # differed and the model took over, and the requests made to the model (written at the end).
    mode = models.CharField(max_length=10, choices=RunMode.choices, default=RunMode.MODEL)
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays")
    replayed_steps = models.PositiveIntegerField(default=0)
    replay_diverged_at = models.PositiveIntegerField(null=True, blank=True)
    model_calls = models.PositiveIntegerField(default=0)
    # The machine a person asked for (empty: any free one), and the machine the dispatcher handed
    # the run to, which executes (or executed) it.
    requested_machine = models.CharField(max_length=200, blank=True)
    machine = models.ForeignKey(Machine, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    # The run's own limits over the scenario's (maxTurns, timeoutSeconds, maxTokens).
    limits = models.JSONField(default=dict, blank=True)
    summary = models.TextField(blank=True)
    error = models.TextField(blank=True)
    # Why the run ended the way it did (stopped by whom, interrupted why, which limit was hit).
    status_reason = models.TextField(blank=True)
    usage = models.JSONField(default=dict, blank=True)
    event_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # When the task message was last sent to the machine's queue: the dispatcher sends it again
    # when no worker picked it up in time (the database, not the broker, says what is queued).
    dispatched_at = models.DateTimeField(null=True, blank=True)
    stop_requested_at = models.DateTimeField(null=True, blank=True)
    # Set while a person wants the desktop: the execution pauses at its next safe point.
    pause_requested_at = models.DateTimeField(null=True, blank=True)
    # Which worker task holds the run (picked up, possibly still waiting for the desktop); every
    # later write by that task is conditional on it, so a task that lost its claim (swept as
    # stale) cannot overwrite what the sweeper decided.
    claim_token = models.CharField(max_length=40, blank=True)
    worker = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["-created_at"], name="run_newest_first"),
            models.Index(fields=["status", "created_at"], name="run_status_created"),
            models.Index(fields=["status", "machine"], name="run_status_machine"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.scenario_id} {self.status}"


class RunSecret(models.Model):
    """A run's secret inputs, sealed (core.sealed), from the request until the worker that types them
    picks them up; that worker deletes the row before it starts (see runs.services.run_secrets_take)."""

    run = models.OneToOneField(Run, on_delete=models.CASCADE, primary_key=True, related_name="+")
    sealed = models.TextField()

    def __str__(self) -> str:
        return f"secrets of {self.run_id}"


class Confirmation(models.Model):
    """A person's approval of one exact action, asked for by a run or a live session.

    Bound to the action's fingerprint and used once: the execution consumes it with a conditional
    UPDATE (confirmed -> used), so an answer can never approve a second, different action.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        CONFIRMED = "confirmed"
        DECLINED = "declined"
        USED = "used"
        EXPIRED = "expired"

    owner_id = models.CharField(max_length=40, db_index=True)
    fingerprint = models.CharField(max_length=64)
    kind = models.CharField(max_length=40)
    action = models.JSONField(default=dict)
    reason = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.owner_id} {self.kind} {self.status}"
