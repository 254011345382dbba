"""Deleting from the history: a run or a live session, with its events, screenshots and confirmations."""

from django.db import transaction

from core.errors import Conflict, NotFound
from events.services import events_delete
from runs.models import Confirmation, Run
from sessions.models import LiveSession

# What still executes (or waits for a person) and so cannot be deleted under its own feet.
ACTIVE = {Run: Run.ACTIVE, LiveSession: LiveSession.BUSY}


def history_record_delete(*, record_id: str) -> str:
    """Delete the run or session `record_id`; returns its kind ("run" or "session").

    The delete is conditional on the record not being active (one statement, so a run that starts
    between a check and the delete cannot be deleted while running).
    """
    for model, kind in ((Run, "run"), (LiveSession, "session")):
        with transaction.atomic():
            deleted, _ = model.objects.filter(pk=record_id).exclude(status__in=ACTIVE[model]).delete()
            if deleted:
                events_delete(owner_id=record_id)
                Confirmation.objects.filter(owner_id=record_id).delete()
                return kind
            status = model.objects.filter(pk=record_id).values_list("status", flat=True).first()
        if status is not None:
            noun = "run" if model is Run else "live session"
            raise Conflict(
                f"The {noun} {record_id} is {status}; stop it before deleting it.",
                details={"status": status},
            )
    raise NotFound(f"No run or live session {record_id}")
