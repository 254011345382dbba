"""HTTP interface of live sessions (the SSE streams are in streams.py: DRF would buffer them)."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFound
from core.openapi import errors, page_parameters
from core.pagination import choice_param, page, page_params
from core.serializers import StrictCharField, StrictInputSerializer, page_of, validated_input
from runs.models import AuthProvider
from sessions import selectors, services
from sessions.models import LiveSession
from sessions.serializers import (
    ConfirmAnswerSerializer,
    ObservationSerializer,
    SessionDetailSerializer,
    SessionSerializer,
)

TAGS = ["live sessions"]
MODEL_NAME_CHARS = 100


class SessionCreateInput(StrictInputSerializer):
    model = StrictCharField(
        required=False, min_length=1, max_length=MODEL_NAME_CHARS, help_text="Default: DESKHAND_DEFAULT_MODEL."
    )
    authProvider = serializers.ChoiceField(choices=AuthProvider.choices, required=False, help_text="Default: api-key.")
    machine = StrictCharField(
        required=False, max_length=200, help_text="The machine to bind the session to (default: a free online one)."
    )


class CommandInput(StrictInputSerializer):
    instruction = StrictCharField(
        max_length=services.MAX_INSTRUCTION_CHARS,
        trim_whitespace=True,
        help_text="What the agent should do (not `text`).",
    )
    authProvider = serializers.ChoiceField(
        choices=AuthProvider.choices, required=False, help_text="For this command only; default: the session's."
    )
    model = StrictCharField(
        required=False,
        min_length=1,
        max_length=MODEL_NAME_CHARS,
        help_text="For this command only; default: the session's.",
    )


class ConfirmInput(StrictInputSerializer):
    choice = serializers.ChoiceField(choices=["confirmed", "declined"])
    fingerprint = StrictCharField(
        required=False,
        max_length=64,
        help_text="The `fingerprint` of the confirmation_required event: the "
        "answer then applies only if that exact action is still the one pending.",
    )


SessionPage = page_of(SessionSerializer, "SessionPage")


def _session_or_404(session_id: str) -> LiveSession:
    session = selectors.session_get(session_id=session_id)
    if session is None:
        raise NotFound(f"No live session {session_id}.")
    return session


class SessionListView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Live sessions, newest first",
        operation_id="live_sessions_list",
        parameters=[*page_parameters(), OpenApiParameter("status", str, enum=LiveSession.Status.values)],
        responses={200: SessionPage, **errors("invalid_input")},
    )
    def get(self, request):
        limit, offset = page_params(request.query_params)
        wanted = choice_param(request.query_params, "status", LiveSession.Status.values)
        sessions, total = selectors.session_list(limit=limit, offset=offset, status=wanted)
        items = SessionSerializer(sessions, many=True).data
        return Response(page(items, total=total, limit=limit, offset=offset))

    @extend_schema(
        tags=TAGS,
        operation_id="live_sessions_create",
        summary="Create a live session (idle)",
        request=SessionCreateInput,
        responses={201: SessionSerializer, **errors("invalid_input")},
        examples=[
            OpenApiExample("create", value={"model": "gpt-5.4", "authProvider": "codex-oauth"}, request_only=True)
        ],
    )
    def post(self, request):
        data = validated_input(SessionCreateInput, request.data)
        session = services.session_create(
            model=data.get("model"), auth_provider=data.get("authProvider"), machine=data.get("machine")
        )
        return Response(SessionSerializer(_session_or_404(session.pk)).data, status=status.HTTP_201_CREATED)


class SessionDetailView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="A live session and its full event history",
        operation_id="live_sessions_retrieve",
        responses={200: SessionDetailSerializer, **errors("not_found")},
    )
    def get(self, request, session_id: str):
        session = _session_or_404(session_id)
        if session.status in LiveSession.BUSY and services.session_sweep_stale(session_id=session_id):
            session = _session_or_404(session_id)
        return Response(SessionDetailSerializer(session).data)


class CommandView(APIView):
    @extend_schema(
        tags=TAGS,
        operation_id="live_sessions_command",
        summary="Send one instruction (runs in the worker; watch the events)",
        description="202 with the session (`executing`). 409 while another instruction executes or a "
        "confirmation is pending, when the session is closed, or when a run holds the desktop.",
        request=CommandInput,
        responses={
            202: SessionSerializer,
            **errors(
                "invalid_input", "not_found", "session_closed", "session_busy", "waiting_confirmation", "desktop_busy"
            ),
        },
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
        data = validated_input(CommandInput, request.data)
        session = services.session_command_submit(
            session_id=session_id,
            instruction=data["instruction"],
            model=data.get("model"),
            auth_provider=data.get("authProvider"),
        )
        return Response(SessionSerializer(session).data, status=status.HTTP_202_ACCEPTED)


class ConfirmView(APIView):
    @extend_schema(
        tags=TAGS,
        operation_id="live_sessions_confirm",
        summary="Answer the pending confirmation (that one action only)",
        description="`declined` tells the model the action was declined. 409 when nothing is pending.",
        request=ConfirmInput,
        responses={200: ConfirmAnswerSerializer, **errors("invalid_input", "not_found", "no_pending_confirmation")},
    )
    def post(self, request, session_id: str):
        data = validated_input(ConfirmInput, request.data)
        confirmation = services.session_confirm(
            session_id=session_id, choice=data["choice"], fingerprint=data.get("fingerprint")
        )
        answer = {"confirmation": confirmation, "session": _session_or_404(session_id)}
        return Response(ConfirmAnswerSerializer(answer).data)


class PauseView(APIView):
    @extend_schema(
        tags=TAGS,
        operation_id="live_sessions_pause",
        summary="Pause the executing instruction and take the desktop over",
        description="The command halts at its next safe point (a model call in flight is cancelled and asked "
        "again after resume), lets go of held keys and buttons, and the session turns `paused`. 409 when "
        "nothing is executing.",
        request=None,
        responses={202: SessionSerializer, **errors("not_found", "not_executing")},
    )
    def post(self, request, session_id: str):
        session = services.session_pause(session_id=session_id)
        return Response(SessionSerializer(session).data, status=status.HTTP_202_ACCEPTED)


class ResumeView(APIView):
    @extend_schema(
        tags=TAGS,
        operation_id="live_sessions_resume",
        summary="Hand the desktop back to the paused instruction",
        description="It goes on from a fresh screenshot, told that a person used the desktop meanwhile. 409 when "
        "the session is not paused.",
        request=None,
        responses={202: SessionSerializer, **errors("not_found", "not_paused")},
    )
    def post(self, request, session_id: str):
        session = services.session_resume(session_id=session_id)
        return Response(SessionSerializer(session).data, status=status.HTTP_202_ACCEPTED)


class StopView(APIView):
    @extend_schema(
        tags=TAGS,
        operation_id="live_sessions_stop",
        summary="Stop the executing instruction; the session turns stopping, then idle",
        request=None,
        responses={202: SessionSerializer, **errors("not_found", "not_executing")},
    )
    def post(self, request, session_id: str):
        session = services.session_stop(session_id=session_id)
        return Response(SessionSerializer(session).data, status=status.HTTP_202_ACCEPTED)


class ObserveView(APIView):
    @extend_schema(
        tags=TAGS,
        operation_id="live_sessions_observe",
        summary="Capture the desktop now: screenshot, visible windows, machine",
        description="Of the session's machine: captured by this server, or in the scaled mode by that machine's "
        "worker (through Redis). Also records a `screenshot` event. 503 when no display is reachable or the machine "
        "is offline.",
        request=None,
        responses={200: ObservationSerializer, **errors("not_found", "session_closed", "display_unavailable")},
    )
    def post(self, request, session_id: str):
        return Response(ObservationSerializer(services.session_observe(session_id=session_id)).data)


class CloseView(APIView):
    @extend_schema(
        tags=TAGS,
        operation_id="live_sessions_close",
        summary="Close the session (stops what runs; ends its event stream)",
        description="The record and its events stay (delete them through /api/history). "
        "Closing a closed session is a no-op.",
        request=None,
        responses={200: SessionSerializer, **errors("not_found")},
    )
    def post(self, request, session_id: str):
        return Response(SessionSerializer(services.session_close(session_id=session_id)).data)
