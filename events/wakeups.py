"""Wake-ups for stream readers. A wake-up only says "look again": the rows are the truth.

Without Redis, one poller per web process asks the database "any event newer than the last one I
saw?" every `EVENT_POLL_INTERVAL` seconds, however many readers are waiting, and wakes the readers
of the owners that got one. With `DESKHAND_REDIS_URL`, writers publish the owner id through the
channel layer and the poller is replaced by one subscription per process.
"""
import asyncio
import logging
import weakref

from asgiref.sync import async_to_sync
from django.conf import settings

logger = logging.getLogger("deskhand.events")

GROUP = "deskhand-events"
_layer = None


def _channel_layer():
    global _layer
    if _layer is None and settings.REDIS_URL:
        from channels.layers import get_channel_layer

        _layer = get_channel_layer()
    return _layer


def notify(owner_id: str) -> None:
    """Tell every web process that `owner_id` has a new event (a no-op without Redis: they poll)."""
    layer = _channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(GROUP, {"type": "event.appended", "owner": owner_id})
    except Exception:  # noqa: BLE001 - readers fall back to their periodic re-check
        logger.warning("Could not publish an event wake-up through Redis", exc_info=True)


class Subscription:
    """A reader's flag for one owner. Clear it *before* reading rows, wait on it after."""

    def __init__(self, hub: "Hub", owner_id: str):
        self.hub, self.owner_id, self.flag = hub, owner_id, asyncio.Event()

    def clear(self) -> None:
        self.flag.clear()

    async def wait(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.flag.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    def close(self) -> None:
        self.hub.unsubscribe(self)


class Hub:
    """All subscriptions of one event loop, and the one task that wakes them."""

    def __init__(self):
        self.subscriptions: dict[str, set[Subscription]] = {}
        self.task: asyncio.Task | None = None

    def subscribe(self, owner_id: str) -> Subscription:
        subscription = Subscription(self, owner_id)
        self.subscriptions.setdefault(owner_id, set()).add(subscription)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        group = self.subscriptions.get(subscription.owner_id)
        if group is not None:
            group.discard(subscription)
            if not group:
                del self.subscriptions[subscription.owner_id]

    def wake(self, owner_id: str) -> None:
        for subscription in self.subscriptions.get(owner_id, ()):
            subscription.flag.set()

    async def _run(self) -> None:
        try:
            if _channel_layer() is not None:
                await self._listen()
            else:
                await self._poll()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - readers still re-check on their own timeout
            logger.warning("Event wake-up loop failed; readers fall back to periodic checks", exc_info=True)

    async def _poll(self) -> None:
        from events.models import Event

        last = await Event.objects.order_by("-id").values_list("id", flat=True).afirst() or 0
        while self.subscriptions:
            await asyncio.sleep(settings.EVENT_POLL_INTERVAL)
            rows = [row async for row in Event.objects.filter(id__gt=last).order_by("id").values_list("id", "owner_id")]
            for event_id, owner_id in rows:
                last = event_id
                self.wake(owner_id)

    async def _listen(self) -> None:
        layer = _channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(GROUP, channel)
        try:
            while self.subscriptions:
                try:
                    message = await asyncio.wait_for(layer.receive(channel), timeout=5)
                except asyncio.TimeoutError:
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
