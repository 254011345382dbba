"""Writes to the event log. Each event is a row first, and only then a wake-up for readers."""

import logging
import uuid

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max

from core.redact import redact_data
from events import wakeups
from events.models import Event, Screenshot

logger = logging.getLogger("deskhand.events")

_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def event_append(*, owner_id: str, type: str, data: dict) -> Event:
    """Store one event with the next sequence number of its owner, then wake its readers.

    Web and worker both append to the same owner (a stop request, the run's own events), so the
    number is taken inside a write transaction and a rare collision is retried.
    """
    clean = redact_data(data)
    for attempt in range(5):
        try:
            with transaction.atomic():
                last = Event.objects.filter(owner_id=owner_id).aggregate(last=Max("seq"))["last"] or 0
                event = Event.objects.create(owner_id=owner_id, seq=last + 1, type=type, data=clean)
            break
        except IntegrityError:
            if attempt == 4:
                raise
    transaction.on_commit(lambda: wakeups.notify(owner_id))
    return event


def events_delete(*, owner_id: str) -> None:
    """Delete an owner's events and stored screenshots (files included)."""
    for shot in Screenshot.objects.filter(owner_id=owner_id):
        shot.file.delete(save=False)
    Screenshot.objects.filter(owner_id=owner_id).delete()
    Event.objects.filter(owner_id=owner_id).delete()


def screenshot_id_new() -> str:
    return f"img_{uuid.uuid4().hex}"


def screenshot_store(
    *, owner_id: str, data: bytes, mime: str, width: int, height: int, shot_id: str | None = None
) -> Screenshot:
    """Store a screenshot's file and row; `shot_id` when its id was handed out before (a queued write)."""
    shot_id = shot_id or screenshot_id_new()
    shot = Screenshot(id=shot_id, owner_id=owner_id, mime=mime, width=width, height=height)
    shot.file.save(f"{shot_id}.{_EXTENSIONS.get(mime, 'bin')}", ContentFile(data), save=False)
    shot.save()
    return shot
