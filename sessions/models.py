"""Live sessions: a conversation with the agent, one instruction at a time."""
import uuid

from django.db import models
from django.utils import timezone

from runs.models import AuthProvider, Machine


def new_session_id() -> str:
    return f"ses_{uuid.uuid4().hex}"


class LiveSession(models.Model):
    class Status(models.TextChoices):
        IDLE = "idle"
        EXECUTING = "executing"
        WAITING_CONFIRMATION = "waiting_confirmation"
        CLOSED = "closed"
        INTERRUPTED = "interrupted"

    BUSY = (Status.EXECUTING, Status.WAITING_CONFIRMATION)

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
    stop_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["-created_at"], name="session_newest_first"),
            models.Index(fields=["status", "created_at"], name="session_status_created"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.status}"
