"""Reads from the event log."""

from events.models import Event, Screenshot


def event_list(*, owner_id: str, after_seq: int = 0, limit: int | None = None) -> list[Event]:
    queryset = Event.objects.filter(owner_id=owner_id, seq__gt=after_seq).order_by("seq")
    return list(queryset[:limit] if limit else queryset)


async def event_list_async(*, owner_id: str, after_seq: int, limit: int = 500) -> list[Event]:
    queryset = Event.objects.filter(owner_id=owner_id, seq__gt=after_seq).order_by("seq")[:limit]
    return [event async for event in queryset]


def screenshot_get(*, screenshot_id: str) -> Screenshot | None:
    return Screenshot.objects.filter(pk=screenshot_id).first()


def screenshot_url(screenshot_id: str) -> str:
    return f"/api/screenshots/{screenshot_id}"
