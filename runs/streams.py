"""`GET /api/runs/:id/events`: the run's events as Server-Sent Events (the one SSE mechanism)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.views import APIView

from core.errors import NotFound
from core.openapi import EventStreamResponse, errors
from events.models import Event
from events.serializers import OWNER_STREAM_EVENTS
from events.streams import last_event_id, last_event_id_parameters, owner_event_stream, sse_view
from runs.models import Run

TERMINAL = {str(status) for status in Run.TERMINAL}


def _is_terminal(event: Event) -> bool:
    return event.type == "status" and event.data.get("status") in TERMINAL


@sse_view
async def run_events_stream(request, run_id: str):
    """Replays the events after `Last-Event-ID` (or `?lastEventId=`), then tails them; the stream
    ends after the run's terminal status event. Authentication happened in the API middleware."""
    after = last_event_id(request)
    if not await Run.objects.filter(pk=run_id).aexists():
        raise NotFound(f"No run {run_id}.")

    async def is_finished() -> bool:
        return await Event.objects.filter(owner_id=run_id, type="status", data__status__in=list(TERMINAL)).aexists()

    return await owner_event_stream(owner_id=run_id, after_seq=after, is_terminal=_is_terminal, is_finished=is_finished)


class _RunEventsSchema(APIView):
    """Describes the stream in the OpenAPI schema only. drf-spectacular lists DRF views; the stream
    is a plain async view (a DRF view would buffer it), so it borrows this class's description."""

    @extend_schema(
        summary="Stream a run's events (Server-Sent Events)",
        operation_id="runs_events",
        parameters=last_event_id_parameters(),
        responses={
            200: EventStreamResponse(
                description="Each message has `id:` (the event's sequence number in the run), `event:` (its type) "
                "and `data:` (`{seq, type, data, createdAt}`). Resume with `Last-Event-ID`. The stream ends after "
                "the terminal `status` event. A `: keep-alive` comment comes when nothing happened for a while.",
                events=OWNER_STREAM_EVENTS,
            ),
            204: OpenApiResponse(description="The run ended and nothing follows `Last-Event-ID`: do not reconnect."),
            **errors("invalid_input", "not_found"),
        },
    )
    def get(self, request, run_id: str):  # pragma: no cover - never routed
        raise NotImplementedError


run_events_stream.cls = _RunEventsSchema
run_events_stream.initkwargs = {}
