"""The screen of a machine this process cannot see, through its worker and the channel layer (Redis).

In the scaled mode the web tier may run where there is no display at all: `observe` and the screen
streams of a session or a run are then captured by the worker of the machine that owns them.
Each worker listens on its machine's control group; a web process asks there and gets its answer
back through the channel layer:

- **frames**: a web process with viewers of machine M joins M's frames group and sends
  `screen.watch` to M's control group every RENEW_SECONDS. M's worker runs its one capture
  (sessions.screen, the same as the embedded mode) while any web process renewed within
  WATCH_SECONDS, and publishes each new frame once to the frames group, where every watching web
  process hands it to all of its viewers. The last viewer of a process leaving sends
  `screen.unwatch`; a web process that died simply stops renewing. So frames are captured once
  per machine, whatever the number of viewers and web processes, and capture stops when nobody
  watches.
- **observe**: a request with a reply channel; the worker captures, stores the screenshot and its
  event (as the embedded mode does) and answers with their ids.

Without a channel layer (the embedded mode), or for this process's own machine when it sees a
display, nothing of this is used: the process captures its own display as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import weakref

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import connection

from core.errors import ERROR_CODES, AppError, Unavailable
from events.wakeups import background, channel_layer
from runs.dispatch import machine_queue
from runs.models import Machine
from runs.selectors import MachineStatus, machine_status
from sessions import screen

logger = logging.getLogger("deskhand.sessions")

# A worker publishes frames this long after a web process last asked for them.
WATCH_SECONDS = 10.0
# How often a web process with viewers asks again (well within WATCH_SECONDS).
RENEW_SECONDS = 3.0
# A web process that heard nothing from the machine's worker this long tells its viewers so.
SILENT_SECONDS = 10.0
# How long an observe waits for the machine's worker.
OBSERVE_TIMEOUT_SECONDS = 15.0
# channels_redis forgets group members after a day; a worker joins its group again this often.
REJOIN_SECONDS = 600.0


def _groups(machine_name: str) -> tuple[str, str]:
    """(control, frames) group names of a machine: its queue's safe name, under 100 characters."""
    safe = machine_queue(machine_name).removeprefix("deskhand-machine-")
    return f"dh-ctl.{safe}", f"dh-frm.{safe}"


def captured_here(machine: Machine | None) -> bool:
    """Whether this process captures `machine`'s screen itself.

    Always without a channel layer (one machine: as before). With one: when `machine` is this
    process's own machine and this process sees a display, or when no worker of it is online (then
    this process's own reason, such as "DISPLAY is not set", is the one to report). Opens the
    display once (~15 ms): call it off the event loop.
    """
    if channel_layer() is None or machine is None:
        return True
    if machine.name != settings.MACHINE_NAME:
        return False
    return machine_status(machine) == MachineStatus.OFFLINE or screen.display_problem() is None


def machine_problem(machine: Machine) -> str | None:
    """Why `machine`'s worker cannot show its screen now, or None."""
    if machine_status(machine) == MachineStatus.OFFLINE:
        return (
            f"Machine {machine.name} is offline (its worker is not running), so its screen cannot be captured. "
            f"Start `python manage.py worker` on {machine.name}."
        )
    if not machine.display_reachable:
        return f"The worker of machine {machine.name} reaches no display, so its screen cannot be captured."
    return None


# --- the web side -------------------------------------------------------------------------------


class RemoteFrameSource:
    """Another machine's frames for this process's viewers (the same interface as
    screen.FrameSource: `latest`, `error`, `subscribe()`), one per machine and event loop."""

    def __init__(self, machine_name: str):
        self.machine_name = machine_name
        self.latest: screen.Frame | None = None
        self.error: str | None = None
        self._viewers: set[screen.Viewer] = set()
        self._task: asyncio.Task | None = None
        self._seq = 0  # this process's own numbering: a restarted worker starts its own again

    def subscribe(self) -> screen.Viewer:
        viewer = screen.Viewer(self)
        self._viewers.add(viewer)
        if self._task is None or self._task.done():
            self._start()
        return viewer

    def unsubscribe(self, viewer: screen.Viewer) -> None:
        self._viewers.discard(viewer)

    def _start(self) -> None:
        self.error = None
        self.latest = None  # an old frame may be minutes stale; the worker sends its newest at once
        self._task = background(self._watch())

    def _publish(self) -> None:
        for viewer in list(self._viewers):
            viewer.wake()

    def _fail(self, message: str) -> None:
        self.error = message
        self._publish()

    async def _watch(self) -> None:
        layer = channel_layer()
        control, frames = _groups(self.machine_name)
        channel = None
        try:
            channel = await layer.new_channel()
            await layer.group_add(frames, channel)
            heard = time.monotonic()
            renew_at = 0.0
            while self._viewers:
                now = time.monotonic()
                if now >= renew_at:
                    await layer.group_send(control, {"type": "screen.watch", "watcher": channel})
                    renew_at = now + RENEW_SECONDS
                if now - heard > SILENT_SECONDS:
                    self._fail(
                        f"The worker of machine {self.machine_name} does not answer, so its screen cannot be shown; "
                        "it may have stopped."
                    )
                    return
                try:
                    message = await asyncio.wait_for(layer.receive(channel), timeout=max(0.1, renew_at - now))
                except TimeoutError:
                    continue
                heard = time.monotonic()
                if message.get("type") == "screen.frame":
                    self._seq += 1
                    self.latest = screen.Frame(
                        seq=self._seq,
                        timestamp=message["timestamp"],
                        width=message["width"],
                        height=message["height"],
                        message=message["message"],
                    )
                    self._publish()
                elif message.get("type") == "screen.error":
                    self._fail(message.get("message") or f"Machine {self.machine_name} cannot capture its screen.")
                    return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("Watching the screen of %s through Redis failed", self.machine_name, exc_info=True)
            self._fail(f"The screen of machine {self.machine_name} cannot be reached through Redis: {exc}")
        finally:
            if channel is not None:
                with contextlib.suppress(Exception):
                    await layer.group_discard(frames, channel)
                    await layer.group_send(control, {"type": "screen.unwatch", "watcher": channel})
            if self._viewers and self.error is None:
                self._start()  # a viewer arrived while this watch was winding down


_remote_sources: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, RemoteFrameSource]] = (
    weakref.WeakKeyDictionary()
)


def remote_frame_source(machine_name: str) -> RemoteFrameSource:
    """This process's one watch of `machine_name`'s screen (per event loop)."""
    sources = _remote_sources.setdefault(asyncio.get_running_loop(), {})
    if machine_name not in sources:
        sources[machine_name] = RemoteFrameSource(machine_name)
    return sources[machine_name]


def observe_remotely(*, session_id: str, machine: Machine) -> dict:
    """Have `machine`'s worker observe its desktop for the session: `{"screenshot": id, "windows": [...]}`."""
    problem = machine_problem(machine)
    if problem:
        raise Unavailable(problem, code="display_unavailable")
    control, _ = _groups(machine.name)

    async def ask() -> dict:
        layer = channel_layer()
        reply = await layer.new_channel()
        await layer.group_send(control, {"type": "session.observe", "session": session_id, "reply": reply})
        return await asyncio.wait_for(layer.receive(reply), OBSERVE_TIMEOUT_SECONDS)

    try:
        answer = async_to_sync(ask)()
    except TimeoutError:
        raise Unavailable(
            f"The worker of machine {machine.name} did not answer within {OBSERVE_TIMEOUT_SECONDS:.0f} s, so its "
            "screen was not captured.",
            code="display_unavailable",
        ) from None
    if answer.get("error"):
        error = AppError(answer["error"]["message"], code=answer["error"]["code"])
        error.http_status = ERROR_CODES.get(error.code, (503, ""))[0]
        raise error
    return answer


# --- the worker side ----------------------------------------------------------------------------


class MachineLink:
    """A worker's ear on the channel layer: requests for its machine's screen from any web process."""

    def __init__(self, machine_name: str, *, layer=None):
        self.machine_name = machine_name
        # Its own loop receives here; channels_redis lets one loop per layer object receive at a time.
        self.layer = layer or channel_layer()
        self.control, self.frames = _groups(machine_name)
        self.watchers: dict[str, float] = {}  # a web process's channel -> until when it wants frames
        self.resend = False  # a new watcher needs the current frame, not only the next change
        self._publisher: asyncio.Task | None = None
        self._stopping = threading.Event()
        self.listening = threading.Event()  # set once it is in its machine's control group
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), name="deskhand-machine-link")
        self._thread.daemon = True

    def start(self) -> MachineLink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()

    async def _main(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._serve()
            except Exception:  # Redis went away: keep trying, the web side reports the silence
                logger.warning("The machine link lost the channel layer; trying again in 5 s", exc_info=True)
                await asyncio.sleep(5)

    async def _serve(self) -> None:
        layer = self.layer
        channel = await layer.new_channel()
        joined = 0.0
        try:
            while not self._stopping.is_set():
                if time.monotonic() - joined > REJOIN_SECONDS:
                    await layer.group_add(self.control, channel)
                    joined = time.monotonic()
                    self.listening.set()
                try:
                    message = await asyncio.wait_for(layer.receive(channel), timeout=1.0)
                except TimeoutError:
                    continue
                await self._handle(layer, message)
        finally:
            self.listening.clear()
            with contextlib.suppress(Exception):
                await layer.group_discard(self.control, channel)

    async def _handle(self, layer, message: dict) -> None:
        kind = message.get("type")
        if kind == "screen.watch":
            watcher = message["watcher"]
            self.resend = self.resend or watcher not in self.watchers
            self.watchers[watcher] = time.monotonic() + WATCH_SECONDS
            if self._publisher is None or self._publisher.done():
                self._publisher = asyncio.get_running_loop().create_task(self._publish(layer))
            with contextlib.suppress(Exception):  # a watcher gone with a full channel: its renewals stop anyway
                await layer.send(watcher, {"type": "screen.alive"})
        elif kind == "screen.unwatch":
            self.watchers.pop(message.get("watcher"), None)
        elif kind == "session.observe":
            asyncio.get_running_loop().create_task(self._observe(layer, message))

    def _watched(self) -> bool:
        now = time.monotonic()
        self.watchers = {watcher: until for watcher, until in self.watchers.items() if until > now}
        return bool(self.watchers) and not self._stopping.is_set()

    async def _publish(self, layer) -> None:
        """The machine's frames to the frames group while anyone watches: one capture for all."""
        source = screen.frame_source()
        viewer = source.subscribe()
        sent = 0
        try:
            while self._watched():
                viewer.flag.clear()
                if source.error:
                    await layer.group_send(self.frames, {"type": "screen.error", "message": source.error})
                    self.watchers.clear()
                    return
                frame = source.latest
                if frame is not None and (frame.seq > sent or self.resend):
                    sent, self.resend = frame.seq, False
                    await layer.group_send(
                        self.frames,
                        {
                            "type": "screen.frame",
                            "timestamp": frame.timestamp,
                            "width": frame.width,
                            "height": frame.height,
                            "message": frame.message,
                        },
                    )
                    continue
                await viewer.wait(1.0)
        except Exception:
            logger.warning("Publishing the screen of %s failed", self.machine_name, exc_info=True)
        finally:
            viewer.close()  # the last one out: the capture thread ends

    async def _observe(self, layer, message: dict) -> None:
        answer = await asyncio.to_thread(_observe_here, message.get("session", ""))
        try:
            await layer.send(message["reply"], {"type": "observe.done", **answer})
        except Exception:  # the asker gave up and its channel is gone: it already said so
            logger.warning("Could not answer an observe of %s", message.get("session"), exc_info=True)


def _observe_here(session_id: str) -> dict:
    from sessions.services import session_observe_here

    try:
        observed = session_observe_here(session_id=session_id)
        return {"screenshot": observed["screenshot"].pk, "windows": observed["windows"]}
    except AppError as exc:
        return {"error": {"code": exc.code, "message": exc.message}}
    except Exception as exc:
        logger.exception("Observing session %s failed", session_id)
        return {"error": {"code": "display_unavailable", "message": f"The screen could not be captured: {exc}"}}
    finally:
        connection.close()  # a thread of the link's executor: no request cycle closes it


_link: MachineLink | None = None


def on_worker_ready(sender=None, **kwargs) -> None:
    global _link
    if channel_layer() is not None and _link is None:
        _link = MachineLink(settings.MACHINE_NAME).start()


def on_worker_shutdown(sender=None, **kwargs) -> None:
    if _link is not None:
        _link.stop()


def connect() -> None:
    """A worker of the scaled mode answers for its machine's screen (Celery's worker signals; a web
    process never fires them)."""
    from celery.signals import worker_ready, worker_shutdown

    worker_ready.connect(on_worker_ready, weak=False, dispatch_uid="deskhand-sessions-machine-link")
    worker_shutdown.connect(on_worker_shutdown, weak=False, dispatch_uid="deskhand-sessions-machine-link-stop")
