"""Reads about live sessions, and their JSON shapes (camelCase, as the API returns them)."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from events.selectors import event_as_dict, event_list, screenshot_url
from runs.models import Confirmation, Machine
from sessions.models import LiveSession


def session_get(*, session_id: str) -> LiveSession | None:
    return LiveSession.objects.select_related("machine").filter(pk=session_id).first()


def session_list(*, limit: int = 50, offset: int = 0, status: str | None = None) -> tuple[list[LiveSession], int]:
    queryset = LiveSession.objects.select_related("machine")
    if status:
        queryset = queryset.filter(status=status)
    return list(queryset.order_by("-created_at")[offset : offset + limit]), queryset.count()


def pending_confirmation(*, session_id: str) -> Confirmation | None:
    return (
        Confirmation.objects.filter(owner_id=session_id, status=Confirmation.Status.PENDING)
        .order_by("-created_at")
        .first()
    )


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def session_as_dict(session: LiveSession, *, with_pending: bool = True) -> dict:
    """The record. The conversation itself (`history`) stays server-side: it is the model's input,
    with images; the events tell the same story for people."""
    record = {
        "id": session.id,
        "title": session.title,
        "status": session.status,
        "statusReason": session.status_reason,
        "model": session.model,
        "authProvider": session.auth_provider,
        "machine": session.machine.name if session.machine_id and session.machine else None,
        "commandCount": session.command_count,
        "command": session.command or None,
        "usage": session.usage or {},
        "createdAt": _iso(session.created_at),
        "updatedAt": _iso(session.updated_at),
        "closedAt": _iso(session.closed_at),
        "heartbeatAt": _iso(session.heartbeat_at),
        "stopRequestedAt": _iso(session.stop_requested_at),
    }
    if with_pending:
        pending = pending_confirmation(session_id=session.id) if session.status in LiveSession.BUSY else None
        record["pendingConfirmation"] = confirmation_as_dict(pending) if pending else None
    return record


def confirmation_as_dict(confirmation: Confirmation) -> dict:
    return {
        "id": confirmation.pk,
        "kind": confirmation.kind,
        "action": confirmation.action,
        "reason": confirmation.reason,
        "fingerprint": confirmation.fingerprint,
        "status": confirmation.status,
        "createdAt": _iso(confirmation.created_at),
    }


def session_events(*, session_id: str) -> list[dict]:
    """The full event history, screenshot events with the URL of their image."""
    return [event_as_dict(event) for event in event_list(owner_id=session_id)]


def machine_as_dict(machine: Machine) -> dict:
    age = (timezone.now() - machine.last_heartbeat).total_seconds() if machine.last_heartbeat else None
    return {
        "name": machine.name,
        "lastHeartbeat": _iso(machine.last_heartbeat),
        "online": age is not None and age < settings.HEARTBEAT_STALE_SECONDS,
        "displayReachable": machine.display_reachable,
        "screen": ({"width": machine.screen_width, "height": machine.screen_height} if machine.screen_width else None),
        "desktopHolder": machine.desktop_holder or None,
    }


def screenshot_as_dict(shot) -> dict:
    return {
        "id": shot.pk,
        "url": screenshot_url(shot.pk),
        "width": shot.width,
        "height": shot.height,
        "mime": shot.mime,
    }
