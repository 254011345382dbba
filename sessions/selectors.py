"""Reads about live sessions. Their JSON shapes are in sessions/serializers.py."""

from __future__ import annotations

from sessions.models import LiveSession


def session_get(*, session_id: str) -> LiveSession | None:
    return LiveSession.objects.select_related("machine").filter(pk=session_id).first()


def session_list(*, limit: int = 50, offset: int = 0, status: str | None = None) -> tuple[list[LiveSession], int]:
    queryset = LiveSession.objects.select_related("machine")
    if status:
        queryset = queryset.filter(status=status)
    return list(queryset.order_by("-created_at", "-pk")[offset : offset + limit]), queryset.count()


def sessions_by_id(*, session_ids: list[str]) -> dict[str, LiveSession]:
    return {session.pk: session for session in LiveSession.objects.select_related("machine").filter(pk__in=session_ids)}
