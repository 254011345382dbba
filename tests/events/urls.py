"""A generic owner stream on top of the project's URLs: the mechanism tested without a run behind it."""

from django.urls import path

from config.api_errors import exception_handler  # noqa: F401 - urlconf hooks Django looks up by name
from config.urls import handler404, handler500  # noqa: F401 - urlconf hooks Django looks up by name
from config.urls import urlpatterns as project_urlpatterns
from events.models import Event
from events.streams import last_event_id, owner_event_stream, sse_view

TERMINAL = {"succeeded", "failed", "stopped", "interrupted"}


def is_terminal(event: Event) -> bool:
    return event.type == "status" and event.data.get("status") in TERMINAL


@sse_view
async def owner_stream(request, owner_id: str):
    after = last_event_id(request)

    async def is_finished() -> bool:
        return await Event.objects.filter(owner_id=owner_id, type="status", data__status__in=list(TERMINAL)).aexists()

    return await owner_event_stream(
        owner_id=owner_id, after_seq=after, is_terminal=is_terminal, is_finished=is_finished
    )


urlpatterns = [path("api/test/streams/<str:owner_id>", owner_stream), *project_urlpatterns]
