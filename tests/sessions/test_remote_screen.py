"""The screen of another machine over Redis (sessions.remote_screen), both ends in this process: a
worker's MachineLink on the test desktop, and a web process's RemoteFrameSource watching it.

Needs Redis, so it runs with `-m scaled` only (tests/runs/test_fleet.py drives the same through
separate processes).
"""

from __future__ import annotations

import asyncio
import secrets

import pytest
from channels.layers import channel_layers
from django.conf import settings

from sessions import remote_screen, screen
from tests.fixtures.aio import run_coroutine
from tests.fixtures.waiting import wait_until, wait_until_async

pytestmark = [pytest.mark.desktop, pytest.mark.scaled, pytest.mark.needs_redis, pytest.mark.timeout(90)]


@pytest.fixture
def link(desktop):
    """A worker's link for a machine of its own name, capturing the test desktop."""
    assert settings.REDIS_URL, "needs Redis: run with DESKHAND_REDIS_URL set (make test's scaled phase)"
    machine = f"remote-{secrets.token_hex(3)}"
    # A layer object of its own: channels_redis lets one event loop per object receive.
    link = remote_screen.MachineLink(machine, layer=channel_layers.make_backend("default")).start()
    assert link.listening.wait(10), "the link did not join its machine's group"
    yield link
    link.stop()


def capturing() -> bool:
    return screen.frame_source().running


def test_every_viewer_of_a_remote_machine_shares_one_capture_that_stops_when_the_last_leaves(link, desktop):
    async def watch():
        source = remote_screen.RemoteFrameSource(link.machine_name)
        first, second = source.subscribe(), source.subscribe()
        frame = await wait_until_async(lambda: source.latest, timeout=20, what="the first frame over Redis")
        assert (frame.width, frame.height) == (desktop.width, desktop.height)
        assert frame.message.startswith("event: frame\n") and capturing()
        assert source.error is None
        first.close()
        await asyncio.sleep(remote_screen.RENEW_SECONDS + 1)
        assert capturing(), "a viewer still watches"
        second.close()
        # The last viewer out: the web process unwatches, the worker stops its capture.
        await wait_until_async(lambda: not capturing(), timeout=10, what="the capture to stop")
        assert len(link.watchers) == 0

    run_coroutine(watch())


def test_a_watcher_that_stops_renewing_stops_the_capture_after_the_watch_period(link, monkeypatch):
    """A web process that died never says goodbye: its interest simply runs out."""
    monkeypatch.setattr(remote_screen, "WATCH_SECONDS", 2.0)

    async def watch_once():
        layer = channel_layers.make_backend("default")
        control, _ = remote_screen._groups(link.machine_name)
        channel = await layer.new_channel()
        await layer.group_send(control, {"type": "screen.watch", "watcher": channel})
        assert (await asyncio.wait_for(layer.receive(channel), 10))["type"] == "screen.alive"

    run_coroutine(watch_once())
    assert capturing()
    wait_until(lambda: not capturing(), 10, what="the capture to stop once the watch ran out")


def test_a_machine_whose_worker_does_not_answer_tells_its_viewers(monkeypatch):
    assert settings.REDIS_URL
    monkeypatch.setattr(remote_screen, "SILENT_SECONDS", 1.0)

    async def watch():
        source = remote_screen.RemoteFrameSource(f"nobody-{secrets.token_hex(3)}")
        viewer = source.subscribe()
        await wait_until_async(lambda: source.error, timeout=10, what="the viewers to be told")
        assert "does not answer" in source.error and source.latest is None
        viewer.close()

    run_coroutine(watch())
