"""The event writer: an execution's writes in order beside the engine, failures handed back, nothing
left queued once the sink is closed."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import OperationalError

from events.models import Event, Screenshot
from runs.execution.writer import EventWriter
from runs.models import Run
from tests.fixtures.sinks import run_sink
from tests.fixtures.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_writes_run_in_order_on_another_thread_and_close_waits_for_them():
    done, threads = [], set()
    release = threading.Event()
    writer = EventWriter("t")

    def write(n: int) -> None:
        release.wait(5)
        threads.add(threading.current_thread().name)
        done.append(n)

    for n in range(20):
        writer.submit(write, n=n)
    assert done == []  # queued: the caller did not wait for the first (blocked) write
    release.set()
    writer.close()
    assert done == list(range(20))
    assert threads == {"events-t"}


def test_a_failed_write_is_raised_at_the_next_submit_and_later_writes_still_happen():
    writer = EventWriter("t")
    written = []

    def fail() -> None:
        raise OperationalError("database went away")

    writer.submit(fail)
    with pytest.raises(OperationalError):
        writer.flush()
    writer.submit(lambda value: written.append(value), value=1)
    writer.close()
    assert written == [1]


def test_inline_writer_writes_at_once_in_the_callers_thread():
    writer = EventWriter("t", inline=True)
    seen = []
    writer.submit(lambda: seen.append(threading.current_thread()))
    assert seen == [threading.current_thread()]


def test_a_closed_sink_has_written_every_event_and_screenshot_before_the_outcome():
    run = Run.objects.create(scenario_id="x", auth_provider="api-key", model="m", status="running", claim_token="c")
    sink = run_sink(run)
    assert not sink.writer.inline  # outside a transaction: the writes go beside the engine
    refs = []
    for n in range(30):
        sink.emit("log", {"level": "info", "message": f"step {n}"})
        refs.append(sink.store_screenshot(b"\x89PNG fake", mime="image/png", width=1, height=1))
        sink.emit("screenshot", {"ref": refs[-1], "width": 1, "height": 1, "mime": "image/png"})
    sink.emit("usage", {"input_tokens": 5, "output_tokens": 1, "total_tokens": 6, "cumulative": {"total_tokens": 6}})
    sink.close()

    events = list(Event.objects.filter(owner_id=run.id).order_by("seq"))
    assert [e.seq for e in events] == list(range(1, 62))
    assert [e.data["message"] for e in events if e.type == "log"] == [f"step {n}" for n in range(30)]
    assert [e.data["ref"] for e in events if e.type == "screenshot"] == refs
    assert set(Screenshot.objects.filter(owner_id=run.id).values_list("id", flat=True)) == set(refs)
    assert Run.objects.get(pk=run.pk).usage["total_tokens"] == 6
    # After close, an event (the outcome's error, say) is written at once.
    sink.emit("log", {"level": "info", "message": "after"})
    assert Event.objects.filter(owner_id=run.id).count() == 62


def test_writes_wait_while_the_engine_acts_and_go_when_it_waits(monkeypatch):
    from runs.execution import writer as writer_module

    monkeypatch.setattr(writer_module, "HOLD_MAX_SECONDS", 30.0)
    writer = EventWriter("t")
    written = []
    writer.hold()  # acting: settle and encode get the CPU
    writer.submit(lambda value: written.append(value), value=1)
    time.sleep(0.2)
    assert written == []
    writer.release()  # a model call: now
    wait_until(lambda: written == [1], 5, what="the held write")
    writer.hold()
    writer.submit(lambda value: written.append(value), value=2)
    writer.close()  # closing never waits for a release
    assert written == [1, 2]
