"""The output shapes of live sessions (see runs/serializers.py for what they share with runs)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.serializers import ConstantField, LinksField, TimestampField
from events.selectors import event_list
from events.serializers import EventSerializer, ScreenshotSerializer
from runs.models import AuthProvider
from runs.serializers import ConfirmationSerializer, ExecutionSerializer, MachineSerializer
from sessions.models import LiveSession


class CommandSerializer(serializers.Serializer):
    """The current or last instruction of a session (stored with it)."""

    id = serializers.CharField()
    instruction = serializers.CharField()
    model = serializers.CharField()
    authProvider = serializers.ChoiceField(choices=AuthProvider.choices)
    route = serializers.CharField(required=False, help_text="desktop, cli or planner once routed.")
    status = serializers.CharField(help_text="queued, executing, waiting_confirmation, succeeded, failed, stopped ...")
    summary = serializers.CharField(required=False)
    createdAt = serializers.DateTimeField()
    startedAt = serializers.DateTimeField(required=False, allow_null=True)
    finishedAt = serializers.DateTimeField(required=False, allow_null=True)


class SessionSerializer(ExecutionSerializer):
    """A live session: a conversation with the agent, one instruction at a time. The conversation
    itself (the model's input, with images) stays server-side; the events tell the same story."""

    asking_statuses = LiveSession.BUSY

    kind = ConstantField("session")
    status = serializers.ChoiceField(choices=LiveSession.Status.choices)
    commandCount = serializers.IntegerField(source="command_count")
    command = serializers.SerializerMethodField()
    updatedAt = TimestampField(source="updated_at")
    startedAt = TimestampField(source="created_at", help_text="A session is live from its creation.")
    closedAt = TimestampField(source="closed_at", allow_null=True)
    endedAt = TimestampField(source="closed_at", allow_null=True, help_text="closedAt, by the name history uses.")
    links = LinksField(
        self="/api/live-sessions/{id}",
        events="/api/live-sessions/{id}/events",
        screenStream="/api/live-sessions/{id}/screen-stream",
    )

    def get_title(self, session: LiveSession) -> str:
        return session.title or "Live session"

    @extend_schema_field(CommandSerializer(allow_null=True))
    def get_command(self, session: LiveSession) -> dict | None:
        return session.command or None


class SessionDetailSerializer(SessionSerializer):
    """`GET /api/live-sessions/:id` (and a session in the history): the session and its events."""

    events = serializers.SerializerMethodField(help_text="The full event history, oldest first.")

    @extend_schema_field(EventSerializer(many=True))
    def get_events(self, session: LiveSession) -> list[dict]:
        return EventSerializer(event_list(owner_id=session.pk), many=True).data


class WindowSerializer(serializers.Serializer):
    title = serializers.CharField()
    app = serializers.CharField(allow_null=True)
    x = serializers.IntegerField()
    y = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    focused = serializers.BooleanField()


class ObservationSerializer(serializers.Serializer):
    """What the desktop showed when it was observed."""

    session = SessionSerializer()
    machine = MachineSerializer()
    windows = WindowSerializer(many=True, help_text="The visible windows, as the desktop lists them.")
    screenshot = ScreenshotSerializer()

    def to_representation(self, observation: dict) -> dict:
        return {**super().to_representation(observation), "windows": observation["windows"]}


class ConfirmAnswerSerializer(serializers.Serializer):
    """`POST …/confirm` of a live session: the confirmation as answered, and the session after it."""

    confirmation = ConfirmationSerializer()
    session = SessionSerializer()
