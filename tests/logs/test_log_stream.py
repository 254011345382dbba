"""The live log stream: catch-up, following every process's file, filters, keep-alives, rotation."""

import asyncio
import json
import logging
import uuid

import pytest
from django.conf import settings as django_settings
from django.test import AsyncClient

from tests.fixtures.aio import run_coroutine

pytestmark = pytest.mark.django_db


def line(message, level="INFO", process="web", time="2026-01-01T00:00:00.000+00:00", owner=None):
    entry = {"time": time, "level": level, "logger": "deskhand.test", "message": message, "process": process}
    if owner:
        entry["ownerId"] = owner
    return json.dumps(entry) + "\n"


def append(path, text):
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)


@pytest.fixture
def log_dir(tmp_path, settings):
    folder = tmp_path / "logs"
    folder.mkdir()
    settings.LOG_DIR = folder
    settings.LOG_STREAM_POLL_SECONDS = 0.02
    return folder


class Stream:
    """An open SSE response read message by message (comments kept as {"comment": ...})."""

    def __init__(self, response):
        self.response = response
        self.chunks = response.streaming_content.__aiter__()

    async def next(self, timeout=5.0):
        chunk = await asyncio.wait_for(self.chunks.__anext__(), timeout)
        text = chunk.decode()
        if text.startswith(":"):
            return {"comment": text.split("\n")[0][1:].strip()}
        message = {}
        for field_line in text.strip("\n").split("\n"):
            field, _, value = field_line.partition(": ")
            message[field] = value
        message["data"] = json.loads(message["data"])
        return message

    async def caught_up(self, timeout=5.0):
        """Skip to the end of the catch-up; everything after this is live."""
        skipped = []
        while (message := await self.next(timeout)) != {"comment": "caught up"}:
            skipped.append(message)
        return [m for m in skipped if "comment" not in m]

    async def messages(self, count, timeout=5.0):
        found = []
        while len(found) < count:
            message = await self.next(timeout)
            if "comment" not in message:
                found.append(message)
        return found


@pytest.fixture(autouse=True)
def test_host(settings):
    # AsyncClient always sends `Host: testserver` (a second Host header would be joined to it).
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]


async def open_stream(query="", **headers):
    # Headers per request: AsyncClient(headers=...) puts them in the scope, not among the headers.
    headers = {"Authorization": f"Bearer {django_settings.API_TOKEN}", **headers}
    return await AsyncClient().get(f"/api/logs/stream{query}", headers=headers)


def run(coroutine):
    return run_coroutine(coroutine, 20)


def test_it_sends_the_recent_entries_first_then_live_ones_from_every_process(log_dir):
    append(log_dir / "deskhand-web.log", line("web old", time="2026-01-01T00:00:01.000+00:00"))
    append(log_dir / "deskhand-worker.log", line("worker old", process="worker", time="2026-01-01T00:00:02.000+00:00"))

    async def scenario():
        response = await open_stream()
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("text/event-stream")
        assert response["Cache-Control"] == "no-cache"
        stream = Stream(response)
        assert (await stream.next())["comment"] == "stream open"
        first = await stream.messages(2)
        append(
            log_dir / "deskhand-worker.log", line("worker new", process="worker", time="2026-01-01T00:00:03.000+00:00")
        )
        append(log_dir / "deskhand-web.log", line("web new", time="2026-01-01T00:00:04.000+00:00"))
        return first + await stream.messages(2)

    messages = run(scenario())
    assert [m["data"]["message"] for m in messages] == ["web old", "worker old", "worker new", "web new"]
    assert all(m["event"] == "log" for m in messages)
    assert messages[0]["id"] == "2026-01-01T00:00:01.000+00:00"
    assert messages[1]["data"]["process"] == "worker"


def test_catch_up_is_limited_to_the_last_n_entries(log_dir):
    append(
        log_dir / "deskhand-web.log",
        "".join(line(f"m{n}", time=f"2026-01-01T00:00:{n:02d}.000+00:00") for n in range(30)),
    )

    async def scenario():
        stream = Stream(await open_stream("?catchUp=3"))
        return await stream.messages(3)

    assert [m["data"]["message"] for m in run(scenario())] == ["m27", "m28", "m29"]


def test_the_level_filter_keeps_that_level_and_above(log_dir):
    append(
        log_dir / "deskhand-web.log",
        line("debug", "DEBUG") + line("info") + line("warn", "WARNING") + line("boom", "ERROR"),
    )

    async def scenario():
        stream = Stream(await open_stream("?level=warning"))
        caught = await stream.caught_up()
        append(log_dir / "deskhand-web.log", line("info live") + line("critical live", "CRITICAL"))
        return caught + await stream.messages(1)

    assert [m["data"]["message"] for m in run(scenario())] == ["warn", "boom", "critical live"]


def test_the_owner_filter_keeps_one_run_or_session(log_dir):
    append(log_dir / "deskhand-worker.log", line("a", owner="run_a") + line("b", owner="run_b") + line("none"))

    async def scenario():
        stream = Stream(await open_stream("?ownerId=run_b"))
        caught = await stream.caught_up()
        append(log_dir / "deskhand-worker.log", line("a2", owner="run_a") + line("b2", owner="run_b"))
        return caught + await stream.messages(1)

    assert [m["data"]["message"] for m in run(scenario())] == ["b", "b2"]


def test_it_follows_a_file_through_rotation_and_a_process_that_starts_later(log_dir):
    web = log_dir / "deskhand-web.log"
    append(web, line("before", time="2026-01-01T00:00:01.000+00:00"))

    async def scenario():
        stream = Stream(await open_stream("?catchUp=0"))
        await stream.caught_up()
        append(web, line("last of the old file", time="2026-01-01T00:00:02.000+00:00"))
        web.rename(log_dir / "deskhand-web.log.1")
        append(web, line("first of the new file", time="2026-01-01T00:00:03.000+00:00"))
        append(
            log_dir / "deskhand-worker.log",
            line("worker started", process="worker", time="2026-01-01T00:00:04.000+00:00"),
        )
        return await stream.messages(3)

    assert [m["data"]["message"] for m in run(scenario())] == [
        "last of the old file",
        "first of the new file",
        "worker started",
    ]


def test_a_line_written_in_two_parts_arrives_once_whole(log_dir, settings):
    web = log_dir / "deskhand-web.log"
    web.write_text("")
    text = line("split in two")
    settings.SSE_KEEPALIVE_SECONDS = 0  # every poll that finds nothing whole says so

    async def scenario():
        stream = Stream(await open_stream("?catchUp=0"))
        await stream.caught_up()
        append(web, text[:20])
        # The stream runs only when read: this keep-alive comes from a poll after the first half.
        assert await stream.next() == {"comment": "keep-alive"}
        append(web, text[20:])
        return await stream.messages(1)

    assert run(scenario())[0]["data"]["message"] == "split in two"


def test_a_line_that_is_not_json_is_passed_on_as_a_message(log_dir):
    append(log_dir / "deskhand-web.log", "Traceback (most recent call last):\n")

    async def scenario():
        return await Stream(await open_stream()).messages(1)

    message = run(scenario())[0]
    assert message["data"]["message"] == "Traceback (most recent call last):"
    assert "id" not in message


def test_a_reconnect_with_last_event_id_resumes_after_that_entry(log_dir):
    append(
        log_dir / "deskhand-web.log", "".join(line(f"m{n}", time=f"2026-01-01T00:00:0{n}.000+00:00") for n in range(5))
    )

    async def scenario():
        stream = Stream(await open_stream(**{"Last-Event-ID": "2026-01-01T00:00:02.000+00:00"}))
        return await stream.messages(2)

    assert [m["data"]["message"] for m in run(scenario())] == ["m3", "m4"]


def test_a_quiet_stream_sends_keep_alives(log_dir, settings):
    settings.SSE_KEEPALIVE_SECONDS = 0.1

    async def scenario():
        stream = Stream(await open_stream())
        return [await stream.next(), await stream.next(), await stream.next()]

    assert run(scenario()) == [{"comment": "stream open"}, {"comment": "caught up"}, {"comment": "keep-alive"}]


def test_entries_logged_by_this_process_reach_the_stream_with_their_owner(settings):
    # The real logging configuration: core.logging's JSON lines in the real log folder.
    owner = f"run_{uuid.uuid4().hex[:12]}"
    settings.LOG_STREAM_POLL_SECONDS = 0.02

    async def scenario():
        stream = Stream(await open_stream(f"?ownerId={owner}&catchUp=0"))
        await stream.caught_up()
        logging.getLogger("deskhand.test").warning("hello from the run", extra={"owner_id": owner})
        return await stream.messages(1)

    entry = run(scenario())[0]["data"]
    assert entry["message"] == "hello from the run"
    assert entry["level"] == "WARNING" and entry["logger"] == "deskhand.test" and entry["ownerId"] == owner


@pytest.mark.parametrize(
    "query, field",
    [("?level=LOUD", "level"), ("?catchUp=-1", "catchUp"), ("?catchUp=5000", "catchUp"), ("?ownerId=a/b", "ownerId")],
)
def test_bad_parameters_are_refused_before_the_stream_starts(log_dir, query, field):
    response = run(open_stream(query))
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["details"]["field"] == field


def test_a_malformed_last_event_id_is_refused(log_dir):
    response = run(open_stream(**{"Last-Event-ID": "\x7fnot a time"}))
    assert response.status_code == 400


def test_the_stream_needs_the_api_token(log_dir):
    async def scenario():
        return await AsyncClient().get("/api/logs/stream")

    assert run(scenario()).status_code == 401


def test_the_stream_refuses_other_methods(log_dir):
    async def scenario():
        headers = {"Authorization": f"Bearer {django_settings.API_TOKEN}"}
        return await AsyncClient().post("/api/logs/stream", {}, content_type="application/json", headers=headers)

    assert run(scenario()).status_code == 405
