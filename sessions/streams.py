"""The two SSE streams of a live session, its events and its screen, and the screen stream of a
run (the same frames, watched from the run's page while it goes: the screen stream lives here).

Plain `async def` views (DRF would buffer a stream); each validates before the first byte and
answers errors in the API's one shape. The `_…Schema` classes only document them for the schema.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from core.errors import Conflict, NotFound, Unavailable
from core.openapi import EventStreamResponse, errors
from events.models import Event
from events.serializers import OWNER_STREAM_EVENTS
from events.streams import (
    last_event_id,
    last_event_id_parameters,
    owner_event_stream,
    sse_message,
    sse_response,
    sse_view,
)
from runs.models import Machine, Run
from sessions import remote_screen, screen
from sessions.models import LiveSession

# How often an open screen stream re-reads whether its session was closed meanwhile.
SESSION_CHECK_SECONDS = 2.0


async def _session_status(session_id: str) -> str | None:
    return await LiveSession.objects.filter(pk=session_id).values_list("status", flat=True).afirst()


def _is_closing(event: Event) -> bool:
    # A session's stream outlives each command (it goes back to idle); only closing ends it.
    return event.type == "status" and event.data.get("status") == LiveSession.Status.CLOSED


@sse_view
async def session_event_stream(request, session_id: str):
    after = last_event_id(request)
    if await _session_status(session_id) is None:
        raise NotFound(f"No live session {session_id}.")

    async def is_finished() -> bool:
        return await _session_status(session_id) == LiveSession.Status.CLOSED

    return await owner_event_stream(
        owner_id=session_id, after_seq=after, is_terminal=_is_closing, is_finished=is_finished
    )


async def _screen_stream(*, machine: Machine | None, ended):
    """The screen of `machine` for as long as what is watched goes on (`ended()` gives the reason
    watching is over, or None): captured here, or by the machine's worker in the scaled mode."""
    source: screen.FrameSource | remote_screen.RemoteFrameSource
    if await asyncio.to_thread(remote_screen.captured_here, machine):
        problem = await asyncio.to_thread(screen.display_problem)
        source = screen.frame_source()
    else:
        assert machine is not None  # captured_here() is True without one
        problem = remote_screen.machine_problem(machine)
        source = remote_screen.remote_frame_source(machine.name)
    if problem:
        raise Unavailable(problem, code="display_unavailable")
    return sse_response(_frames(source, ended))


@sse_view
async def session_screen_stream(request, session_id: str):
    session = await LiveSession.objects.select_related("machine").filter(pk=session_id).afirst()
    if session is None:
        raise NotFound(f"No live session {session_id}.")
    if session.status == LiveSession.Status.CLOSED:
        raise Conflict(f"Live session {session_id} is closed; create a new one.", code="session_closed")

    async def ended() -> str | None:
        if await _session_status(session_id) in (None, LiveSession.Status.CLOSED):
            return "The session was closed."
        return None

    return await _screen_stream(machine=session.machine, ended=ended)


async def _run_status(run_id: str) -> str | None:
    return await Run.objects.filter(pk=run_id).values_list("status", flat=True).afirst()


@sse_view
async def run_screen_stream(request, run_id: str):
    run = await Run.objects.select_related("machine").filter(pk=run_id).afirst()
    if run is None:
        raise NotFound(f"No run {run_id}.")
    if run.status in Run.TERMINAL:
        raise Conflict(f"Run {run_id} has ended ({run.status}); its screenshots are in the run.", code="run_finished")
    # The machine executing it; a queued run asked for by name shows the machine it waits for.
    machine = run.machine
    if machine is None and run.requested_machine:
        machine = await Machine.objects.filter(name=run.requested_machine).afirst()

    async def ended() -> str | None:
        status = await _run_status(run_id)
        return None if status is not None and status not in Run.TERMINAL else "The run has ended."

    return await _screen_stream(machine=machine, ended=ended)


async def _frames(source: screen.FrameSource | remote_screen.RemoteFrameSource, ended) -> AsyncIterator[str]:
    """Frames until `ended()` (checked every SESSION_CHECK_SECONDS) gives the reason the watch is over."""
    yield ": stream open\nretry: 2000\n\n"
    viewer = source.subscribe()
    sent_seq = 0
    last_write = checked_at = time.monotonic()
    try:
        while True:
            viewer.flag.clear()
            if source.error:
                yield sse_message(event="error", data={"code": "display_unavailable", "message": source.error})
                return
            frame = source.latest
            if frame is not None and frame.seq > sent_seq:
                # Always the newest: frames published while this viewer was busy are skipped, not queued.
                sent_seq = frame.seq
                yield frame.message
                last_write = time.monotonic()
                continue
            now = time.monotonic()
            if now - checked_at >= SESSION_CHECK_SECONDS:
                checked_at = now
                reason = await ended()
                if reason:
                    yield sse_message(event="end", data={"reason": reason})
                    return
            quiet = now - last_write
            if quiet >= settings.SSE_KEEPALIVE_SECONDS:
                # The screen did not change: keep the connection (and proxies) alive, send no frame.
                yield ": keep-alive\n\n"
                last_write = time.monotonic()
                continue
            await viewer.wait(min(SESSION_CHECK_SECONDS, settings.SSE_KEEPALIVE_SECONDS - quiet))
    finally:
        # A normal end or Django cancelling us on disconnect: the last viewer out stops the capture.
        viewer.close()


class _EventStreamSchema(APIView):
    """Documentation only (see logs.streams): found through `session_event_stream.cls`."""

    @extend_schema(
        tags=["live sessions"],
        summary="The session's events, as Server-Sent Events",
        operation_id="live_sessions_events",
        parameters=last_event_id_parameters(),
        responses={
            200: EventStreamResponse(
                description="Replays the events after `Last-Event-ID` (header or `?lastEventId=`), then follows "
                "new ones. Each message: `id: <seq>`, `event: <type>`, `data: {seq, type, data, createdAt}`. The "
                "stream stays open across commands (the session returns to `idle`) and ends after the "
                "`status: closed` event. A `: keep-alive` comment comes when nothing happened.",
                events=OWNER_STREAM_EVENTS,
            ),
            204: OpenApiResponse(description="The session is closed and nothing follows: do not reconnect."),
            **errors("invalid_input", "not_found"),
        },
    )
    def get(self, request, session_id: str):  # pragma: no cover - never routed
        raise NotImplementedError


class FrameSerializer(serializers.Serializer):
    timestamp = serializers.IntegerField(help_text="Capture time, milliseconds since the epoch.")
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    image = serializers.CharField(help_text="Base64 JPEG.")


class StreamErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="display_unavailable")
    message = serializers.CharField()


class StreamEndSerializer(serializers.Serializer):
    reason = serializers.CharField()


class _ScreenStreamSchema(APIView):
    @extend_schema(
        tags=["live sessions"],
        summary="Near-live frames of the desktop, as Server-Sent Events",
        operation_id="live_sessions_screen_stream",
        responses={
            200: EventStreamResponse(
                description="`event: frame` messages, at most DESKHAND_SCREEN_STREAM_FPS per second (default 8), "
                "at most DESKHAND_SCREEN_STREAM_MAX_WIDTH pixels wide (default 1280; scaled down by an integer "
                "factor). An unchanged screen sends no frame, only `: keep-alive` comments. The screen is the one of "
                "the session's machine: captured by this server, or in the scaled mode by that machine's worker and "
                "delivered through Redis. One capture per machine is shared by all viewers and stops when the last "
                "one leaves; a slow viewer gets the newest frame, never a backlog. `event: error` when the display goes away or the machine's worker stops "
                "answering, `event: end` when the session is closed; both end the stream. 503 when the display (or "
                "the machine, offline) cannot be reached.",
                events={"frame": FrameSerializer, "error": StreamErrorSerializer, "end": StreamEndSerializer},
            ),
            **errors("not_found", "session_closed", "display_unavailable"),
        },
    )
    def get(self, request, session_id: str):  # pragma: no cover - never routed
        raise NotImplementedError


session_event_stream.cls = _EventStreamSchema
session_event_stream.initkwargs = {}
session_screen_stream.cls = _ScreenStreamSchema
session_screen_stream.initkwargs = {}


class _RunScreenStreamSchema(APIView):
    @extend_schema(
        tags=["runs"],
        summary="Near-live frames of the desktop while the run goes, as Server-Sent Events",
        operation_id="runs_screen_stream",
        responses={
            200: EventStreamResponse(
                description="The same frames as a live session's screen stream, of the machine the run is "
                "driven on (for a queued run asked for on a machine, that machine); `event: end` when the run ends. 409 once the run has ended (its screenshots are in "
                "the run), 503 when no display is reachable.",
                events={"frame": FrameSerializer, "error": StreamErrorSerializer, "end": StreamEndSerializer},
            ),
            **errors("not_found", "run_finished", "display_unavailable"),
        },
    )
    def get(self, request, run_id: str):  # pragma: no cover - never routed
        raise NotImplementedError


run_screen_stream.cls = _RunScreenStreamSchema
run_screen_stream.initkwargs = {}
