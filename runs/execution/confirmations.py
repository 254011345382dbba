"""A person's approval of one exact action: waiting for it (the engine's side) and giving it (the API's).

Fails closed: no answer, a stop, a timeout or an answer for another action all mean "declined".
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from django.utils import timezone

from core.redact import redact
from runs.models import Confirmation

if TYPE_CHECKING:
    from agent.sink import ConfirmationRequest
    from runs.execution.sink import DjangoSink

# How long a confirmation waits for a person before it counts as declined.
CONFIRMATION_TIMEOUT_SECONDS = 15 * 60
# How often the waiting execution looks for the answer.
ANSWER_POLL_SECONDS = 0.2


def confirmation_await(*, sink: DjangoSink, request: ConfirmationRequest, timeout_s: float) -> str:
    """Ask, then block until a person answers, the stop flag is set or `timeout_s` passes.

    The owner shows `waiting_status` meanwhile and heartbeats, so the wait is neither swept nor
    silent. Returns "confirmed" only for an answer to this exact fingerprint, consumed once.
    """
    from runs.execution.claims import heartbeat_interval

    owner = sink.owner
    pending = Confirmation.objects.create(
        owner_id=owner.pk,
        fingerprint=request.fingerprint,
        kind=request.kind,
        action=json.loads(json.dumps(request.action, default=str)),
        reason=redact(request.reason)[:2000],
    )
    if owner.model.objects.filter(pk=owner.pk, status=owner.running_status, **owner.claim).update(
        status=owner.waiting_status
    ):
        sink.emit("status", {"status": owner.waiting_status, "reason": "Waiting for a person to confirm an action."})
    sink.emit("confirmation_required", {**request.as_event(), "confirmationId": pending.pk})
    deadline = time.monotonic() + timeout_s
    next_beat = 0.0
    decision = "declined"
    while True:
        if time.monotonic() >= next_beat:
            sink.heartbeat()
            next_beat = time.monotonic() + heartbeat_interval()
        status = Confirmation.objects.filter(pk=pending.pk).values_list("status", flat=True).first()
        if status == Confirmation.Status.CONFIRMED:
            # Single use: only the first consumer of this exact fingerprint turns it into "used".
            used = Confirmation.objects.filter(
                pk=pending.pk, status=Confirmation.Status.CONFIRMED, fingerprint=request.fingerprint
            ).update(status=Confirmation.Status.USED)
            decision = "confirmed" if used else "declined"
            break
        if status != Confirmation.Status.PENDING:
            break
        if sink.should_stop() or time.monotonic() >= deadline:
            confirmations_expire(owner_id=owner.pk)
            break
        time.sleep(ANSWER_POLL_SECONDS)
    if owner.model.objects.filter(pk=owner.pk, status=owner.waiting_status, **owner.claim).update(
        status=owner.running_status
    ):
        sink.emit("status", {"status": owner.running_status})
    sink.emit(
        "confirmation_resolved",
        {"fingerprint": request.fingerprint, "decision": decision, "confirmationId": pending.pk},
    )
    return decision


def confirmation_resolve(*, owner_id: str, choice: str, fingerprint: str | None = None) -> Confirmation | None:
    """A person's answer to the owner's pending confirmation; None when nothing is pending.

    With `fingerprint`, the answer applies only to that exact action (a stale page cannot approve
    a different action that replaced it).
    """
    if choice not in ("confirmed", "declined"):
        raise ValueError(choice)
    pending = Confirmation.objects.filter(owner_id=owner_id, status=Confirmation.Status.PENDING)
    if fingerprint:
        pending = pending.filter(fingerprint=fingerprint)
    target = pending.order_by("-created_at").first()
    if target is None:
        return None
    if (
        Confirmation.objects.filter(pk=target.pk, status=Confirmation.Status.PENDING).update(
            status=choice, resolved_at=timezone.now()
        )
        != 1
    ):
        return None
    target.refresh_from_db()
    return target


def confirmations_expire(*, owner_id: str) -> None:
    """A question nobody can answer any more (stopped, closed, interrupted) must not approve anything later."""
    Confirmation.objects.filter(owner_id=owner_id, status=Confirmation.Status.PENDING).update(
        status=Confirmation.Status.EXPIRED, resolved_at=timezone.now()
    )
