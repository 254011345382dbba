"""The one Server-Sent-Events mechanism every stream uses.

Plain `async def` views returning a StreamingHttpResponse over an async generator: a DRF view
would buffer the response, and Django would buffer a sync generator to a list under ASGI.
"""

import functools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.http import HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter

from core.errors import AppError, MethodNotAllowed, app_error_response
from core.pagination import whole_number
from events import wakeups
from events.models import Event
from events.serializers import EventSerializer

# Readers re-check the rows at least this often even when no wake-up came (a lost wake-up can
# only delay an event, never lose it).
RECHECK_SECONDS = 1.0


# The largest sequence number an event can have (a 32-bit column on every database).
MAX_SEQ = 2_147_483_647


def sse_view(view):
    """The front door of every stream: GET only, and an AppError raised while the view validates
    (before the first byte) becomes the API's error body, exactly as a DRF view would answer it.

    CSRF-exempt because only GET gets through: nothing for CSRF to protect, and without the
    exemption a token-authenticated POST would get Django's HTML 403 instead of the JSON 405.
    """

    @csrf_exempt
    @functools.wraps(view)
    async def guarded(request, *args, **kwargs):
        try:
            if request.method != "GET":
                raise MethodNotAllowed(request.method, allowed=("GET",))
            return await view(request, *args, **kwargs)
        except AppError as exc:
            return app_error_response(exc)

    return guarded


def sse_message(*, data: dict, event: str | None = None, id: int | str | None = None) -> str:
    lines = []
    if id is not None:
        lines.append(f"id: {id}")
    if event:
        lines.append(f"event: {event}")
    lines.append("data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


def sse_response(stream: AsyncIterator[str]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(stream, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    # Never compressed: a gzip layer buffers until it has a block worth compressing.
    response["Content-Encoding"] = "identity"
    return response


def last_event_id_parameters() -> list[OpenApiParameter]:
    """How a reader resumes, for the schema of each stream."""
    number = {"type": "integer", "minimum": 0, "maximum": MAX_SEQ}
    return [
        OpenApiParameter(
            "Last-Event-ID",
            number,
            OpenApiParameter.HEADER,
            description="Resume after this event (EventSource sends it by itself on reconnect).",
        ),
        OpenApiParameter("lastEventId", number, description="The same, for clients that cannot set headers."),
    ]


def last_event_id(request) -> int:
    """Where a reader resumes: the `Last-Event-ID` header (set by EventSource on reconnect) or `?lastEventId=`."""
    raw = request.headers.get("Last-Event-ID") or request.GET.get("lastEventId")
    return whole_number(raw, "Last-Event-ID", default=0, low=0, high=MAX_SEQ)


async def owner_event_stream(
    *,
    owner_id: str,
    after_seq: int,
    is_terminal: Callable[[Event], bool],
    is_finished: Callable[[], Awaitable[bool]],
) -> HttpResponse:
    """Replay an owner's events after `after_seq`, then tail them; end after a terminal event.

    A reader that resumes after the end gets 204, which tells EventSource not to reconnect.
    """
    finished = await is_finished() and not await Event.objects.filter(owner_id=owner_id, seq__gt=after_seq).aexists()
    # A stream may stay open for hours: it must not keep this request's database connection
    # (its reads go through the process's shared feed from here on).
    await sync_to_async(close_old_connections)()
    if finished:
        return HttpResponse(status=204)
    return sse_response(_tail(owner_id, after_seq, is_terminal))


def _event_message(event: Event) -> str:
    # Formatted once per event: the feed hands the same Event objects to every reader.
    if not hasattr(event, "sse_text"):
        event.sse_text = sse_message(id=event.seq, event=event.type, data=EventSerializer(event).data)
    return event.sse_text


async def _tail(owner_id: str, cursor: int, is_terminal: Callable[[Event], bool]) -> AsyncIterator[str]:
    # The first bytes go out at once: Daphne sends the headers with the first chunk, and a
    # client waiting for headers cannot tell a quiet stream from a dead one.
    yield ": stream open\nretry: 2000\n\n"
    subscription = wakeups.hub().subscribe(owner_id)
    last_write = time.monotonic()
    try:
        while True:
            subscription.clear()
            events = await subscription.events_after(cursor)
            for event in events:
                cursor = event.seq
                yield _event_message(event)
                if is_terminal(event):
                    return
            if events:
                last_write = time.monotonic()
                continue
            quiet = time.monotonic() - last_write
            if quiet >= settings.SSE_KEEPALIVE_SECONDS:
                yield ": keep-alive\n\n"
                last_write = time.monotonic()
                continue
            if not await subscription.wait(min(RECHECK_SECONDS, settings.SSE_KEEPALIVE_SECONDS - quiet)):
                # No wake-up came: look at the database anyway (a lost wake-up only delays).
                await subscription.feed.refresh()
    finally:
        # Runs on a normal end and when Django cancels the generator on client disconnect.
        subscription.close()
