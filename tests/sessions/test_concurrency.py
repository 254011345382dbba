"""The single-flight command claim under real concurrency: Daphne's thread pool, one database."""

import threading

import pytest

from runs.models import Machine
from sessions.models import LiveSession
from tests.sessions.conftest import new_session

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.scaled, pytest.mark.timeout(120)]


def test_twenty_concurrent_commands_give_exactly_one_202(session_server, http, model):
    # If a worker is running (it is session-wide), the winning command must still be executing
    # when the last request arrives, or a second 202 would be right: so it runs a long command.
    model.add_route("cli")
    model.add_turn(model.function_call("shell", {"command": "sleep 30", "timeout_s": 60}))
    session = new_session(http)
    url = f"/api/live-sessions/{session['id']}/commands"
    barrier = threading.Barrier(20)
    codes: list[int] = []
    lock = threading.Lock()

    def post(n):
        with session_server.client() as client:
            barrier.wait()
            code = client.post(url, json={"instruction": f"command {n}"}).status_code
        with lock:
            codes.append(code)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(codes) == [202] + [409] * 19
    row = LiveSession.objects.get(pk=session["id"])
    assert row.status == "executing" and row.command_count == 1
    assert Machine.objects.filter(desktop_holder=session["id"]).count() == 1
    user_messages = [
        e for e in http.get(f"/api/live-sessions/{session['id']}").json()["events"] if e["type"] == "message"
    ]
    assert len(user_messages) == 1 and user_messages[0]["data"]["text"] == row.command["instruction"]
    assert http.post(f"/api/live-sessions/{session['id']}/close").status_code == 200
