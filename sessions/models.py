"""Live sessions: a conversation with the agent, one instruction at a time."""

import uuid

from django.db import models
from django.utils import timezone

from runs.models import AuthProvider, Machine


def new_session_id() -> str:
    return f"ses_{uuid.uuid4().hex}"


def new_command_id() -> str:
    return f"cmd_{uuid.uuid4().hex}"


class LiveSession(models.Model):
    class Status(models.TextChoices):
        IDLE = "idle"
        EXECUTING = "executing"
        WAITING_CONFIRMATION = "waiting_confirmation"
        PAUSED = "paused"  # a person took the desktop over; resumes on request
        STOPPING = "stopping"  # a stop was accepted; the command is winding down
        CLOSED = "closed"
        INTERRUPTED = "interrupted"

    BUSY = (Status.EXECUTING, Status.WAITING_CONFIRMATION, Status.PAUSED, Status.STOPPING)
    # A session takes a new instruction when nothing runs; after a crash too (nothing resumes by itself).
    READY = (Status.IDLE, Status.INTERRUPTED)

    id = models.CharField(primary_key=True, max_length=40, default=new_session_id, editable=False)
    title = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.IDLE)
    auth_provider = models.CharField(max_length=20, choices=AuthProvider.choices)
    model = models.CharField(max_length=100)
    machine = models.ForeignKey(Machine, null=True, blank=True, on_delete=models.SET_NULL, related_name="sessions")
    # The model conversation carried from one instruction to the next (old screenshots pruned).
    history = models.JSONField(default=list, blank=True)
    command_count = models.PositiveIntegerField(default=0)
    usage = models.JSONField(default=dict, blank=True)
    event_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # When the command's task message was last sent: sent again if no worker started it in time.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    stop_requested_at = models.DateTimeField(null=True, blank=True)
    # Set while a person wants the desktop: the command pauses at its next safe point.
    pause_requested_at = models.DateTimeField(null=True, blank=True)
    # The command being executed ("cmd_…"), empty when none. Every write the executing task makes
    # is conditional on it, so a task that lost its command (stopped before it started, session
    # closed, swept as stale) cannot overwrite what happened since.
    command_id = models.CharField(max_length=40, blank=True, default="")
    # The current or last command: instruction, model, provider, route, status, summary, times.
    command = models.JSONField(default=dict, blank=True)
    # Why the session is in its status (interrupted by the sweeper, stopped before it started ...).
    status_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["-created_at"], name="session_newest_first"),
            models.Index(fields=["status", "created_at"], name="session_status_created"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.status}"
