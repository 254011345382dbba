"""The output shapes of the event log: an event and a stored screenshot, and the `data` of each
event type (documentation of what the engine and the services write; `data` is rendered as stored)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agent.sink import EVENT_TYPES
from core.serializers import ConstantField, TimestampField
from events.models import Event, Screenshot
from events.selectors import screenshot_url


class ScreenshotSerializer(serializers.Serializer):
    id = serializers.CharField()
    url = serializers.SerializerMethodField(help_text="GET it with the API token.")
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    mime = serializers.CharField(help_text="image/png or image/jpeg.")

    def get_url(self, shot: Screenshot) -> str:
        return screenshot_url(shot.pk)


class EventSerializer(serializers.Serializer):
    """One entry of a run's or a live session's event log, in lists and as each stream message's `data:`."""

    seq = serializers.IntegerField(help_text="Position in its run or session, from 1; the SSE `id:`.")
    type = serializers.ChoiceField(choices=EVENT_TYPES)
    data = serializers.SerializerMethodField(
        help_text="What happened; its fields depend on `type` (the streams' `x-events` list them). "
        "`screenshot` events carry `ref` and the image's `url`."
    )
    createdAt = TimestampField(source="created_at")

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_data(self, event: Event) -> dict:
        data = event.data
        if event.type == "screenshot" and isinstance(data, dict) and data.get("ref"):
            data = {**data, "url": screenshot_url(data["ref"])}
        return data


# --- The `data` of each event type. Open objects: the engine may add fields; these are the ones
# a client can rely on.


class _EventData(serializers.Serializer):
    pass


class StatusData(_EventData):
    status = serializers.CharField(help_text="The run's or session's new status.")
    reason = serializers.CharField(required=False, help_text="Why (stopped by whom, which limit was hit ...).")


class LogData(_EventData):
    level = serializers.ChoiceField(choices=["debug", "info", "warning", "error"])
    message = serializers.CharField()


class MessageData(_EventData):
    role = serializers.CharField(help_text="assistant")
    kind = serializers.CharField(help_text="text, reasoning or plan.")
    text = serializers.CharField()
    phase = serializers.CharField(required=False, allow_null=True)
    steps = serializers.ListField(child=serializers.DictField(), required=False, help_text="plan: its steps.")


class AgentRouteData(_EventData):
    route = serializers.ChoiceField(choices=["desktop", "cli", "planner"])
    reason = serializers.CharField()
    browser = serializers.BooleanField(required=False, help_text="The desktop agent drives the browser.")


class ToolCallData(_EventData):
    call_id = serializers.CharField()
    name = serializers.CharField(help_text="computer, shell, a browser tool ...")
    arguments = serializers.DictField(required=False)
    actions = serializers.ListField(child=serializers.DictField(), required=False, help_text="computer: the batch.")
    command = serializers.CharField(required=False, help_text="shell: the command line.")
    source = serializers.CharField(required=False, help_text='"replay": an action replayed from a recording.')
    step = serializers.IntegerField(required=False, help_text="replay: the recorded step it repeats (from 1).")
    steps = serializers.IntegerField(required=False, help_text="replay: the recording's steps in all.")
    located = serializers.DictField(
        required=False,
        help_text="replay, aimed actions: where the target was found: `score` (0-1), `inPlace`, and `moved` "
        "[dx, dy] in screenshot pixels when it moved.",
    )


class ToolResultData(_EventData):
    call_id = serializers.CharField()
    name = serializers.CharField(required=False)
    status = serializers.CharField(required=False, help_text="ok, error, declined, timeout ...")
    output = serializers.JSONField(required=False)
    error = serializers.CharField(required=False)
    screenshot = serializers.CharField(required=False, help_text="computer: the screenshot taken after the batch.")


class ComputerActionData(_EventData):
    call_id = serializers.CharField()
    type = serializers.CharField(help_text="click, double_click, move, scroll, drag, keypress, type, wait, screenshot")
    x = serializers.IntegerField(required=False, help_text="Screen pixels (already mapped back from the screenshot).")
    y = serializers.IntegerField(required=False)
    button = serializers.CharField(required=False)
    keys = serializers.ListField(child=serializers.CharField(), required=False)
    text = serializers.CharField(required=False)
    path = serializers.ListField(child=serializers.DictField(), required=False)
    scroll_x = serializers.IntegerField(required=False)
    scroll_y = serializers.IntegerField(required=False)
    seconds = serializers.FloatField(required=False)
    source = serializers.ChoiceField(
        choices=["model", "replay"], required=False, help_text="Who chose it: the model, or a replayed recording."
    )


class ScreenshotData(_EventData):
    ref = serializers.CharField(help_text="The screenshot's id.")
    url = serializers.CharField(help_text="Where to GET the image (with the API token).")
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    mime = serializers.CharField()
    call_id = serializers.CharField(required=False)


class ErrorData(_EventData):
    code = serializers.CharField(help_text="task_failed, timed_out, auth_missing, internal_error ...")
    message = serializers.CharField()
    details = serializers.DictField(required=False)


class UsageData(_EventData):
    agent = serializers.CharField()
    turn = serializers.IntegerField()
    input_tokens = serializers.IntegerField(required=False)
    output_tokens = serializers.IntegerField(required=False)
    total_tokens = serializers.IntegerField(required=False)
    cumulative = serializers.DictField(child=serializers.IntegerField(), required=False)


class ConfirmationRequiredData(_EventData):
    kind = serializers.CharField(help_text="What kind of action waits (shell, gui, safety_check, browser ...).")
    action = serializers.DictField(help_text="Exactly what would be done.")
    reason = serializers.CharField()
    fingerprint = serializers.CharField(help_text="Pass it to …/confirm to answer this exact action.")
    confirmationId = serializers.IntegerField(required=False)


class ConfirmationResolvedData(_EventData):
    fingerprint = serializers.CharField()
    decision = serializers.CharField(help_text="confirmed, declined, or why it ended unanswered.")
    confirmationId = serializers.IntegerField(required=False)


class ReplayData(_EventData):
    phase = serializers.ChoiceField(
        choices=["started", "diverged", "completed"],
        help_text="started; diverged (the screen differs from the recording at `step`: the model takes over "
        "from there); completed (every step was replayed).",
    )
    recording = serializers.CharField(required=False, help_text="started: the run replayed.")
    steps = serializers.IntegerField(help_text="The recording's steps.")
    step = serializers.IntegerField(required=False, help_text="diverged: the step that could not be replayed.")
    action = serializers.DictField(required=False, help_text="diverged: that step's action, as recorded.")
    reason = serializers.CharField(required=False, help_text="diverged: why, in words.")
    score = serializers.FloatField(
        required=False, help_text="diverged: how much the best place on the screen looked like the target (0-1)."
    )
    replayed = serializers.IntegerField(required=False, help_text="completed: the steps replayed.")


EVENT_DATA: dict[str, type[serializers.Serializer]] = {
    "status": StatusData,
    "log": LogData,
    "message": MessageData,
    "agent_route": AgentRouteData,
    "tool_call": ToolCallData,
    "tool_result": ToolResultData,
    "computer_action": ComputerActionData,
    "screenshot": ScreenshotData,
    "error": ErrorData,
    "usage": UsageData,
    "confirmation_required": ConfirmationRequiredData,
    "confirmation_resolved": ConfirmationResolvedData,
    "replay": ReplayData,
}


def _stream_event(event_type: str, data: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The stream message of one event type: the event with `type` fixed and `data` of that type."""
    name = "".join(part.capitalize() for part in event_type.split("_")) + "Event"
    fields = {
        "seq": serializers.IntegerField(),
        "type": ConstantField(event_type),
        "data": data(),
        "createdAt": TimestampField(),
        "__module__": __name__,
        "__doc__": f"A `{event_type}` event as its stream message's `data:` (`id:` is `seq`, `event:` is `type`).",
    }
    return type(name, (serializers.Serializer,), fields)


# What the run and live-session streams send: one message per event, its type as the SSE `event:`.
OWNER_STREAM_EVENTS = {event_type: _stream_event(event_type, data) for event_type, data in EVENT_DATA.items()}
