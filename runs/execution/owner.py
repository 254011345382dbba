"""The row an execution reports to (a Run, or a LiveSession for a live command), and the few
places where the two kinds differ, spelled out as fields instead of discovered from the model."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import models

USAGE_KEYS = ("input_tokens", "output_tokens", "total_tokens")


@dataclass
class ExecutionOwner:
    """`claim` filters prove the execution still owns the row (e.g. {"claim_token": ...}); every write
    the sink makes is conditional on them and on `active_statuses`, so an execution that was swept
    as stale learns it (should_stop() turns true) instead of overwriting the sweeper's verdict.
    """

    model: type[models.Model]
    pk: str
    running_status: str  # "running" for a run, "executing" for a live session
    claim: dict = field(default_factory=dict)
    machine_id: int | None = None
    # The column the agent's route is written to as soon as it is chosen (a run's `route`), or None
    # when the owner records it with the outcome (a live command's record).
    route_field: str | None = None
    # Tokens the owner had used before this execution (a live session's earlier commands): the
    # owner's `usage` column always shows its whole total.
    usage_before: dict = field(default_factory=dict)

    # The other statuses of an execution in progress have the same names for both kinds.
    waiting_status: str = "waiting_confirmation"
    paused_status: str = "paused"
    stopping_status: str = "stopping"

    @property
    def active_statuses(self) -> tuple[str, ...]:
        return (self.running_status, self.waiting_status, self.paused_status, self.stopping_status)

    def rows(self) -> models.QuerySet:
        return self.model.objects.filter(pk=self.pk, status__in=self.active_statuses, **self.claim)

    def usage_total(self, usage: dict) -> dict:
        return {key: int(self.usage_before.get(key) or 0) + int(usage.get(key) or 0) for key in USAGE_KEYS}
