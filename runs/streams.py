"""`GET /api/runs/:id/events`: the run's events as Server-Sent Events (the one SSE mechanism)."""
from django.http import JsonResponse

from core.errors import AppError
from events.models import Event
from events.streams import last_event_id, owner_event_stream
from runs.models import Run

TERMINAL = {str(status) for status in Run.TERMINAL}


def _is_terminal(event: Event) -> bool:
    return event.type == "status" and event.data.get("status") in TERMINAL


async def run_events_stream(request, run_id: str):
    """Replays the events after `Last-Event-ID` (or `?lastEventId=`), then tails them; the stream
    ends after the run's terminal status event. Authentication happened in the API middleware."""
    if request.method != "GET":
        response = JsonResponse({"code": "method_not_allowed", "message": f"Method {request.method} not allowed.",
                                 "details": {}}, status=405)
        response["Allow"] = "GET"
        return response
    try:
        after = last_event_id(request)
    except AppError as exc:
        return JsonResponse({"code": exc.code, "message": exc.message, "details": exc.details}, status=exc.http_status)
    if not await Run.objects.filter(pk=run_id).aexists():
        return JsonResponse({"code": "not_found", "message": f"No run {run_id}.", "details": {}}, status=404)

    async def is_finished() -> bool:
        return await Event.objects.filter(owner_id=run_id, type="status", data__status__in=list(TERMINAL)).aexists()

    return await owner_event_stream(owner_id=run_id, after_seq=after, is_terminal=_is_terminal, is_finished=is_finished)
