"""Memory end to end: an entry created through the API shows in admin, reaches the model's
instructions in a live command run by a real Celery worker (the instruction names the app), is
counted as used, and what the agent saves with its `remember` tool comes back through the API with
the session as its source."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.fixtures.waiting import wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.desktop,
    pytest.mark.scaled,
    pytest.mark.timeout(120),
]


def create_entry(api, **body) -> dict:
    response = api.post("/api/memory", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_an_api_entry_shows_in_admin_reaches_the_instructions_is_counted_and_remember_comes_back(
    api, celery_worker_process, model
):
    mousepad = create_entry(
        api,
        content="Mousepad keeps unsaved tabs open; save each one before quitting.",
        category="procedure",
        appContext="Mousepad",
        tags=["save"],
    )
    firefox = create_entry(
        api, content="Firefox opens the downloads panel with ctrl+shift+y.", category="fact", appContext="Firefox"
    )
    assert mousepad["source"] == "person" and mousepad["useCount"] == 0

    # Visible (and curatable) in Django admin.
    staff = Client(SERVER_NAME="127.0.0.1")
    staff.force_login(get_user_model().objects.create(username="curator", is_staff=True, is_superuser=True))
    page = staff.get("/admin/memory/memoryentry/")
    assert page.status_code == 200 and mousepad["content"] in page.content.decode()

    # A live command that names the app, answered by the fake model: it saves a note, then finishes.
    model.add_route("cli")
    model.add_turn(
        model.function_call(
            "remember",
            {
                "content": "Mousepad's Save As dialog opens in the home folder.",
                "category": "app_behavior",
                "app_context": "Mousepad",
                "tags": ["dialog"],
                "confidence": 0.75,
            },
        )
    )
    model.add_turn(model.message("Noted how Mousepad saves."))
    created = api.post("/api/live-sessions", {"model": "gpt-5.4", "authProvider": "api-key"}, format="json")
    assert created.status_code == 201, created.content
    sid = created.json()["id"]
    accepted = api.post(
        f"/api/live-sessions/{sid}/commands", {"instruction": "Find out how Mousepad saves its files"}, format="json"
    )
    assert accepted.status_code == 202, accepted.content

    done = wait_until(
        lambda s: s["status"] == "idle",
        60,
        of=lambda: api.get(f"/api/live-sessions/{sid}").json(),
        what="the command to end",
    )
    assert done["command"]["status"] == "succeeded", (
        done["command"],
        [e for e in done["events"] if e["type"] == "error"],
    )
    assert done["command"]["summary"] == "Noted how Mousepad saves."

    # The model received the app's entry (and not another app's) in its instructions, every turn.
    agent_calls = model.model_requests()
    assert len(agent_calls) == 2
    for call in agent_calls:
        assert mousepad["content"] in call.body["instructions"]
        assert firefox["content"] not in call.body["instructions"]
    assert any(t.get("name") == "remember" for t in agent_calls[0].body["tools"])
    remembered_output = next(i for i in agent_calls[1].body["input"] if i.get("type") == "function_call_output")
    assert remembered_output["output"] == "Saved."

    # Counted as used once; the other app's entry was not.
    profile = api.get("/api/memory/apps/mousepad").json()  # names match case-insensitively
    by_content = {e["content"]: e for e in profile["entries"]}
    assert by_content[mousepad["content"]]["useCount"] == 1
    assert by_content[mousepad["content"]]["lastUsedAt"]
    firefox_profile = api.get("/api/memory/apps/Firefox").json()
    assert firefox_profile["entries"][0]["useCount"] == 0

    # What the agent remembered is in the API with its source: the agent, from this session.
    learnt = by_content["Mousepad's Save As dialog opens in the home folder."]
    assert learnt["source"] == "agent" and learnt["sourceOwnerId"] == sid
    assert learnt["category"] == "app_behavior" and learnt["tags"] == ["dialog"] and learnt["confidence"] == 0.75
    events = api.get(f"/api/live-sessions/{sid}").json()["events"]
    remember_call = next(e for e in events if e["type"] == "tool_call" and e["data"].get("name") == "remember")
    assert remember_call["data"]["arguments"]["app_context"] == "Mousepad"
    assert not [e for e in events if e["type"] == "error"], json.dumps(events)[:2000]

    assert api.post(f"/api/live-sessions/{sid}/close").status_code == 200
