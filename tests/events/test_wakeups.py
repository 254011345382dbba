"""A reader waiting on an owner is woken by a new event: by the poller, or through Redis when configured."""

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from events import wakeups
from events.services import event_append
from tests.fixtures.aio import run_coroutine
from tests.fixtures.waiting import wait_until_async

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.scaled]


def test_a_waiting_reader_is_woken_by_a_new_event_of_its_owner():
    async def scenario():
        hub = wakeups.hub()
        subscription = hub.subscribe("run_wake")
        other = hub.subscribe("run_other")
        try:
            # An event written before the loop listens, or before the feeds know where their owners
            # stand, would be part of the baseline instead of news.
            await wait_until_async(
                lambda: (
                    hub.listening and subscription.feed.read_up_to is not None and other.feed.read_up_to is not None
                ),
                what="the hub's loop and both feeds to start",
            )
            subscription.clear()
            await sync_to_async(event_append)(owner_id="run_wake", type="message", data={})
            # Far longer than the poll interval: only a lost wake-up would run into it.
            woken = await subscription.wait(timeout=10)
            return woken, other.flag.is_set()
        finally:
            subscription.close()
            other.close()

    woken, other_woken = run_coroutine(scenario())
    assert woken and not other_woken


def test_the_mode_matches_the_configuration():
    assert (wakeups.channel_layer() is not None) == bool(settings.REDIS_URL)
