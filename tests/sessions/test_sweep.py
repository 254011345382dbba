"""The worker's periodic sweep covers live sessions as well as runs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Event
from runs.supervision import sweep_once
from sessions.models import LiveSession

pytestmark = pytest.mark.django_db


def test_the_sweep_interrupts_a_session_whose_worker_went_silent(settings):
    old = timezone.now() - timedelta(seconds=settings.HEARTBEAT_STALE_SECONDS * 3)
    session = LiveSession.objects.create(
        auth_provider="api-key",
        model="gpt-5.4",
        status=LiveSession.Status.EXECUTING,
        command_id="cmd_1",
        command={"instruction": "type hello"},
        heartbeat_at=old,
        updated_at=old,
    )
    fresh = LiveSession.objects.create(
        auth_provider="api-key",
        model="gpt-5.4",
        status=LiveSession.Status.EXECUTING,
        command_id="cmd_2",
        command={"instruction": "type hi"},
        heartbeat_at=timezone.now(),
    )

    sweep_once()

    session.refresh_from_db()
    fresh.refresh_from_db()
    assert session.status == LiveSession.Status.INTERRUPTED and "heartbeat" in session.status_reason
    assert fresh.status == LiveSession.Status.EXECUTING
    status = Event.objects.filter(owner_id=session.pk, type="status").last()
    assert status.data["status"] == "interrupted"
