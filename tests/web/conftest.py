import io
from datetime import timedelta

import pytest
from django.utils import timezone


@pytest.fixture
def operator(client):
    """A browser-like client signed in through the token login, as a person would be."""
    from django.conf import settings

    response = client.post("/login/", {"token": settings.API_TOKEN, "next": "/"})
    assert response.status_code == 302, response.content[:500]
    return client


def png(width: int = 320, height: int = 200, color=(40, 90, 160)) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), color)
    ImageDraw.Draw(image).rectangle((20, 20, width - 20, 60), fill=(250, 250, 250))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def add_events(owner_id: str, events: list[tuple[str, dict]]) -> None:
    from events.services import event_append, screenshot_store

    for kind, data in events:
        if kind == "screenshot":
            shot = screenshot_store(
                owner_id=owner_id,
                data=png(data["width"], data["height"]),
                mime="image/png",
                width=data["width"],
                height=data["height"],
            )
            data = {**data, "ref": shot.pk, "mime": "image/png"}
        event_append(owner_id=owner_id, type=kind, data=data)


@pytest.fixture
def seeded(db):
    """Two runs and a live session, at known times, the newer run with a full story of events."""
    from runs.models import Run
    from sessions.models import LiveSession

    now = timezone.now()
    older = Run.objects.create(
        scenario_id="screen-describe",
        title="Describe the screen",
        status=Run.Status.FAILED,
        auth_provider="api-key",
        model="gpt-5.4",
        created_at=now - timedelta(hours=2),
        started_at=now - timedelta(hours=2),
        finished_at=now - timedelta(hours=2) + timedelta(seconds=95),
        error="The model was not reachable.",
    )
    session = LiveSession.objects.create(model="gpt-5.4", auth_provider="codex-oauth", title="Tidy the desktop")
    LiveSession.objects.filter(pk=session.pk).update(created_at=now - timedelta(hours=1))
    newer = Run.objects.create(
        scenario_id="notepad-hello",
        title="Type hello in the text editor",
        status=Run.Status.SUCCEEDED,
        auth_provider="api-key",
        model="gpt-5.4",
        input={"text": "hello"},
        created_at=now - timedelta(minutes=5),
        started_at=now - timedelta(minutes=5),
        finished_at=now - timedelta(minutes=4),
        summary="Typed hello.",
    )
    add_events(
        newer.pk,
        [
            ("status", {"status": "running"}),
            ("agent_route", {"route": "desktop", "reason": "the scenario says so"}),
            ("tool_call", {"call_id": "c1", "name": "computer", "actions": [{"type": "screenshot"}]}),
            ("computer_action", {"call_id": "c1", "type": "screenshot"}),
            ("screenshot", {"width": 320, "height": 200, "call_id": "c1"}),
            ("tool_result", {"call_id": "c1", "status": "ok"}),
            (
                "tool_call",
                {
                    "call_id": "c2",
                    "name": "computer",
                    "actions": [{"type": "click", "x": 160, "y": 100}, {"type": "type", "text": "hello"}],
                },
            ),
            ("computer_action", {"call_id": "c2", "type": "click", "x": 160, "y": 100, "button": "left"}),
            ("computer_action", {"call_id": "c2", "type": "type", "text": "hello"}),
            ("screenshot", {"width": 320, "height": 200, "call_id": "c2"}),
            ("tool_result", {"call_id": "c2", "status": "ok"}),
            ("message", {"role": "assistant", "kind": "text", "text": "I typed hello."}),
            ("status", {"status": "succeeded"}),
        ],
    )
    Run.objects.filter(pk=newer.pk).update(event_count=13)
    return {"newer": newer, "older": older, "session": session}
