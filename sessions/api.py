"""HTTP interface of live sessions (the SSE streams are in streams.py: DRF would buffer them)."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import InvalidInput, NotFound
from core.pagination import page, page_params
from core.serializers import StrictInputSerializer
from runs.models import AuthProvider
from sessions import selectors, services
from sessions.models import LiveSession

TAGS = ["live sessions"]
ERROR = OpenApiResponse(description='{"code", "message", "details"}')


class TextField(serializers.CharField):
    """A string, and only a string: DRF's CharField would turn 5 or true into "5" / "True"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class SessionCreateInput(StrictInputSerializer):
    model = TextField(required=False, max_length=100, help_text="Default: DESKHAND_DEFAULT_MODEL.")
    authProvider = serializers.ChoiceField(choices=AuthProvider.values, required=False, help_text="Default: api-key.")


class CommandInput(StrictInputSerializer):
    instruction = TextField(
        max_length=services.MAX_INSTRUCTION_CHARS,
        trim_whitespace=True,
        help_text="What the agent should do (not `text`).",
    )
    authProvider = serializers.ChoiceField(
        choices=AuthProvider.values, required=False, help_text="For this command only; default: the session's."
    )
    model = TextField(required=False, max_length=100, help_text="For this command only; default: the session's.")


class ConfirmInput(StrictInputSerializer):
    choice = serializers.ChoiceField(choices=["confirmed", "declined"])
    fingerprint = TextField(
        required=False,
        max_length=64,
        help_text="The `fingerprint` of the confirmation_required event: the "
        "answer then applies only if that exact action is still the one pending.",
    )


class SessionSerializer(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=LiveSession.Status.values)
    statusReason = serializers.CharField()
    model = serializers.CharField()
    authProvider = serializers.CharField()
    machine = serializers.CharField(allow_null=True)
    commandCount = serializers.IntegerField()
    command = serializers.DictField(
        allow_null=True,
        help_text="The current or last command: id, instruction, "
        "model, authProvider, route, status, summary, createdAt, startedAt, finishedAt.",
    )
    usage = serializers.DictField()
    pendingConfirmation = serializers.DictField(
        allow_null=True, help_text="kind, action, reason, fingerprint: exactly what would be done and why."
    )
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    closedAt = serializers.DateTimeField(allow_null=True)


class EventSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    type = serializers.CharField()
    data = serializers.DictField(help_text="`screenshot` events carry `ref` and the image's `url`.")
    createdAt = serializers.DateTimeField()


class SessionDetailSerializer(SessionSerializer):
    events = EventSerializer(many=True)


class SessionListSerializer(serializers.Serializer):
    items = SessionSerializer(many=True)
    total = serializers.IntegerField()


class ObserveSerializer(serializers.Serializer):
    session = SessionSerializer()
    machine = serializers.DictField(help_text="name, lastHeartbeat, online, displayReachable, screen, desktopHolder")
    windows = serializers.ListField(
        child=serializers.DictField(), help_text="Visible windows: title, app, x, y, width, height, focused."
    )
    screenshot = serializers.DictField(help_text="id, url, width, height, mime")


def _session_or_404(session_id: str) -> LiveSession:
    session = selectors.session_get(session_id=session_id)
    if session is None:
        raise NotFound(f"No live session {session_id}.")
    return session


class SessionListView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Live sessions, newest first",
        parameters=[
            OpenApiParameter("limit", int, description="1 to 200, default 50"),
            OpenApiParameter("offset", int),
            OpenApiParameter("status", str, enum=LiveSession.Status.values),
        ],
        responses={200: SessionListSerializer, 400: ERROR},
    )
    def get(self, request):
        limit, offset = page_params(request.query_params)
        wanted = request.query_params.get("status") or None
        if wanted and wanted not in LiveSession.Status.values:
            raise InvalidInput("status", f"must be one of: {', '.join(LiveSession.Status.values)}")
        sessions, total = selectors.session_list(limit=limit, offset=offset, status=wanted)
        items = [selectors.session_as_dict(s, with_pending=False) for s in sessions]
        return Response(page(items, total=total, limit=limit, offset=offset))

    @extend_schema(
        tags=TAGS,
        summary="Create a live session (idle)",
        request=SessionCreateInput,
        responses={201: SessionSerializer, 400: ERROR},
        examples=[
            OpenApiExample("create", value={"model": "gpt-5.4", "authProvider": "codex-oauth"}, request_only=True)
        ],
    )
    def post(self, request):
        data = _valid(SessionCreateInput, request)
        session = services.session_create(model=data.get("model"), auth_provider=data.get("authProvider"))
        return Response(selectors.session_as_dict(_session_or_404(session.pk)), status=status.HTTP_201_CREATED)


class SessionDetailView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="A live session and its full event history",
        responses={200: SessionDetailSerializer, 404: ERROR},
    )
    def get(self, request, session_id: str):
        session = _session_or_404(session_id)
        if session.status in LiveSession.BUSY and services.session_sweep_stale(session_id=session_id):
            session = _session_or_404(session_id)
        return Response(
            {**selectors.session_as_dict(session), "events": selectors.session_events(session_id=session_id)}
        )


class CommandView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Send one instruction (runs in the worker; watch the events)",
        description="202 with the session (`executing`). 409 while another instruction executes or a "
        "confirmation is pending, when the session is closed, or when a run holds the desktop.",
        request=CommandInput,
        responses={202: SessionSerializer, 400: ERROR, 404: ERROR, 409: ERROR},
        examples=[
            OpenApiExample(
                "command",
                request_only=True,
                value={
                    "instruction": "Open Chrome and search for the latest OpenAI API pricing.",
                    "authProvider": "api-key",
                    "model": "gpt-5.4",
                },
            )
        ],
    )
    def post(self, request, session_id: str):
        data = _valid(CommandInput, request)
        session = services.session_command_submit(
            session_id=session_id,
            instruction=data["instruction"],
            model=data.get("model"),
            auth_provider=data.get("authProvider"),
        )
        return Response(selectors.session_as_dict(session), status=status.HTTP_202_ACCEPTED)


class ConfirmView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Answer the pending confirmation (that one action only)",
        description="`declined` tells the model the action was declined. 409 when nothing is pending.",
        request=ConfirmInput,
        responses={200: OpenApiResponse(description="{confirmation, session}"), 400: ERROR, 404: ERROR, 409: ERROR},
    )
    def post(self, request, session_id: str):
        data = _valid(ConfirmInput, request)
        confirmation = services.session_confirm(
            session_id=session_id, choice=data["choice"], fingerprint=data.get("fingerprint")
        )
        return Response(
            {"confirmation": confirmation, "session": selectors.session_as_dict(_session_or_404(session_id))}
        )


class StopView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Stop the executing instruction; the session goes back to idle",
        request=None,
        responses={202: SessionSerializer, 404: ERROR, 409: ERROR},
    )
    def post(self, request, session_id: str):
        session = services.session_stop(session_id=session_id)
        return Response(selectors.session_as_dict(session), status=status.HTTP_202_ACCEPTED)


class ObserveView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Capture the desktop now: screenshot, visible windows, machine",
        description="Also records a `screenshot` event. 503 when no display is reachable.",
        request=None,
        responses={200: ObserveSerializer, 404: ERROR, 409: ERROR, 503: ERROR},
    )
    def post(self, request, session_id: str):
        result = services.session_observe(session_id=session_id)
        return Response(
            {
                "session": selectors.session_as_dict(result["session"]),
                "machine": selectors.machine_as_dict(result["machine"]),
                "windows": result["windows"],
                "screenshot": selectors.screenshot_as_dict(result["screenshot"]),
            }
        )


class CloseView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Close the session (stops what runs; ends its event stream)",
        description="The record and its events stay (delete them through /api/history). "
        "Closing a closed session is a no-op.",
        request=None,
        responses={200: SessionSerializer, 404: ERROR},
    )
    def post(self, request, session_id: str):
        return Response(selectors.session_as_dict(services.session_close(session_id=session_id)))


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data if isinstance(request.data, dict) else {})
    if not isinstance(request.data, dict):
        raise InvalidInput("body", "must be a JSON object")
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
