"""Wake-ups and the shared read of new events, for every stream reader of a web process.

A wake-up only says "look again": the rows are the truth. Without Redis, one poller per web
process asks the database "any event newer than the last one I saw?" every
`EVENT_POLL_INTERVAL` seconds, however many readers are waiting. With `DESKHAND_REDIS_URL`,
writers publish the owner id through the channel layer instead.

Either way, the new rows of an owner are then read once per process (`OwnerFeed`) and handed to
all of its readers: a hundred viewers of one run cost one query per wake-up, not a hundred, and
one database connection, not a hundred.
"""

import asyncio
import contextvars
import logging
import weakref

from asgiref.sync import async_to_sync
from django.conf import settings

logger = logging.getLogger("deskhand.events")

GROUP = "deskhand-events"
# Events an owner feed keeps in memory for readers that are a little behind; older ones are
# replayed from the database.
FEED_KEEP = 1000
_layer = None


def channel_layer():
    """The channel layer (Redis) all processes share, or None without DESKHAND_REDIS_URL."""
    global _layer
    if _layer is None and settings.REDIS_URL:
        from channels.layers import get_channel_layer

        _layer = get_channel_layer()
    return _layer


def notify(owner_id: str) -> None:
    """Tell every web process that `owner_id` has a new event (a no-op without Redis: they poll)."""
    layer = channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(GROUP, {"type": "event.appended", "owner": owner_id})
    except Exception:
        logger.warning("Could not publish an event wake-up through Redis", exc_info=True)


def background(coroutine) -> asyncio.Task:
    # A fresh context: the task outlives the request that started it, and its database calls
    # belong on the process's shared sync thread, not on that request's own thread.
    return asyncio.get_running_loop().create_task(coroutine, context=contextvars.Context())


class Subscription:
    """A reader's flag for one owner. Clear it *before* reading, wait on it after."""

    def __init__(self, feed: "OwnerFeed"):
        self.feed, self.flag = feed, asyncio.Event()

    def clear(self) -> None:
        self.flag.clear()

    async def wait(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.flag.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def events_after(self, cursor: int) -> list:
        return await self.feed.events_after(cursor)

    def close(self) -> None:
        self.feed.unsubscribe(self)


class OwnerFeed:
    """The new events of one owner, read from the database once for all of its readers."""

    def __init__(self, hub: "Hub", owner_id: str):
        self.hub, self.owner_id = hub, owner_id
        self.subscriptions: set[Subscription] = set()
        self.recent: list = []  # newest events read, ascending seq
        self.read_up_to: int | None = None  # every event up to this seq has been read
        self.reading: asyncio.Task | None = None

    def unsubscribe(self, subscription: Subscription) -> None:
        self.subscriptions.discard(subscription)
        if not self.subscriptions:
            self.hub.feeds.pop(self.owner_id, None)

    async def refresh(self) -> None:
        """Read what is new; callers arriving while a read runs share it."""
        if self.reading is None or self.reading.done():
            self.reading = background(self._read())
        await asyncio.shield(self.reading)

    async def _read(self) -> None:
        from events.models import Event
        from events.selectors import event_list_async

        if self.read_up_to is None:
            last = (
                await Event.objects.filter(owner_id=self.owner_id)
                .order_by("-seq")
                .values_list("seq", flat=True)
                .afirst()
            )
            self.read_up_to = last or 0
            return
        new = await event_list_async(owner_id=self.owner_id, after_seq=self.read_up_to)
        if not new:
            return
        self.recent = (self.recent + new)[-FEED_KEEP:]
        self.read_up_to = new[-1].seq
        # Flags are set only after the rows are in `recent`: a reader that clears its flag and
        # then looks finds them, or finds its flag set again.
        for subscription in self.subscriptions:
            subscription.flag.set()

    async def events_after(self, cursor: int) -> list:
        if self.read_up_to is None:
            await self.refresh()
        if cursor >= self.read_up_to:
            return []
        if self.recent and self.recent[0].seq <= cursor + 1:
            return [event for event in self.recent if event.seq > cursor]
        # Behind what the feed holds (a replay from the start, a reconnect after a long gap).
        from events.selectors import event_list_async

        return await event_list_async(owner_id=self.owner_id, after_seq=cursor)


class Hub:
    """All feeds of one event loop, and the one task that learns about new events."""

    def __init__(self):
        self.feeds: dict[str, OwnerFeed] = {}
        self.task: asyncio.Task | None = None
        self.listening = False  # the loop has its poll baseline or its Redis subscription (tests wait on it)

    def subscribe(self, owner_id: str) -> Subscription:
        feed = self.feeds.get(owner_id)
        if feed is None:
            feed = self.feeds[owner_id] = OwnerFeed(self, owner_id)
            background(feed.refresh())  # learn where the owner's events stand now
        subscription = Subscription(feed)
        feed.subscriptions.add(subscription)
        if self.task is None or self.task.done():
            self.task = background(self._run())
        return subscription

    def wake(self, owner_id: str) -> None:
        feed = self.feeds.get(owner_id)
        if feed is not None and feed.read_up_to is not None:
            background(feed.refresh())

    async def _run(self) -> None:
        try:
            if channel_layer() is not None:
                await self._listen()
            else:
                await self._poll()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("Event wake-up loop failed; readers fall back to periodic checks", exc_info=True)
        finally:
            self.listening = False

    async def _poll(self) -> None:
        from events.models import Event

        last = await Event.objects.order_by("-id").values_list("id", flat=True).afirst() or 0
        self.listening = True
        while self.feeds:
            await asyncio.sleep(settings.EVENT_POLL_INTERVAL)
            rows = [row async for row in Event.objects.filter(id__gt=last).order_by("id").values_list("id", "owner_id")]
            if rows:
                last = rows[-1][0]
            for owner_id in {owner for _, owner in rows}:
                self.wake(owner_id)

    async def _listen(self) -> None:
        layer = channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(GROUP, channel)
        self.listening = True
        try:
            while self.feeds:
                try:
                    message = await asyncio.wait_for(layer.receive(channel), timeout=5)
                except TimeoutError:
                    continue
                self.wake(message.get("owner", ""))
        finally:
            await layer.group_discard(GROUP, channel)


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def hub() -> Hub:
    loop = asyncio.get_running_loop()
    if loop not in _hubs:
        _hubs[loop] = Hub()
    return _hubs[loop]
