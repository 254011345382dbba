"""The runs API: start, list, read, stop, retry, confirm, replay. Views parse, call one service, render."""

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import InvalidInput, NotFound
from core.pagination import page_params
from core.serializers import StrictInputSerializer
from events.selectors import event_as_dict, event_list
from runs import selectors, services
from runs.models import AuthProvider, Run
from scenarios.catalog import LIMIT_RANGES


def run_record(run: Run, *, retries: list[str] | None = None) -> dict:
    return {
        "id": run.id,
        "kind": "run",
        "scenarioId": run.scenario_id,
        "title": run.title,
        "status": run.status,
        "statusReason": run.status_reason,
        "authProvider": run.auth_provider,
        "model": run.model,
        "input": run.input,
        "instruction": run.instruction,
        "route": run.route,
        "retryOf": run.retry_of_id,
        "retries": retries if retries is not None else selectors.run_retry_ids(run_id=run.id),
        "machine": run.machine.name if run.machine_id and run.machine else None,
        "summary": run.summary,
        "error": run.error,
        "usage": run.usage or {},
        "eventCount": run.event_count,
        "createdAt": _iso(run.created_at),
        "startedAt": _iso(run.started_at),
        "finishedAt": _iso(run.finished_at),
        "heartbeatAt": _iso(run.heartbeat_at),
        "stopRequestedAt": _iso(run.stop_requested_at),
        "links": {
            "self": f"/api/runs/{run.id}",
            "events": f"/api/runs/{run.id}/events",
            "replay": f"/api/runs/{run.id}/replay",
        },
    }


def _iso(value):
    return value.isoformat() if value else None


RunRecord = inline_serializer(
    "Run",
    {
        "id": serializers.CharField(),
        "scenarioId": serializers.CharField(),
        "status": serializers.ChoiceField(choices=Run.Status.choices),
        "statusReason": serializers.CharField(),
        "authProvider": serializers.ChoiceField(choices=AuthProvider.choices),
        "model": serializers.CharField(),
        "input": serializers.DictField(),
        "retryOf": serializers.CharField(allow_null=True),
        "retries": serializers.ListField(child=serializers.CharField()),
        "usage": serializers.DictField(),
        "createdAt": serializers.DateTimeField(),
        "startedAt": serializers.DateTimeField(allow_null=True),
        "finishedAt": serializers.DateTimeField(allow_null=True),
    },
)
RunDetail = inline_serializer(
    "RunDetail",
    {"run": RunRecord, "events": serializers.ListField(child=serializers.DictField())},
)
RunPage = inline_serializer(
    "RunPage",
    {
        "items": serializers.ListField(child=RunRecord),
        "total": serializers.IntegerField(),
        "limit": serializers.IntegerField(),
        "offset": serializers.IntegerField(),
    },
)


class RunLimitsInput(StrictInputSerializer):
    """Overrides of the scenario's limits for this run."""

    maxTurns = serializers.IntegerField(
        min_value=LIMIT_RANGES["maxTurns"][0], max_value=LIMIT_RANGES["maxTurns"][1], required=False
    )
    timeoutSeconds = serializers.IntegerField(
        min_value=LIMIT_RANGES["timeoutSeconds"][0],
        max_value=LIMIT_RANGES["timeoutSeconds"][1],
        required=False,
        help_text="Active time: a pause does not count.",
    )
    maxTokens = serializers.IntegerField(
        min_value=LIMIT_RANGES["maxTokens"][0],
        max_value=LIMIT_RANGES["maxTokens"][1],
        required=False,
        help_text="Input + output tokens of every model call together; the run ends `budget_exceeded` before passing it.",
    )


class RunCreateInput(StrictInputSerializer):
    scenarioId = serializers.CharField(max_length=100)
    authProvider = serializers.ChoiceField(choices=AuthProvider.values, default=AuthProvider.API_KEY)
    model = serializers.CharField(max_length=100, required=False, allow_blank=False)
    input = serializers.DictField(required=False, default=dict)
    limits = RunLimitsInput(required=False)
    machine = serializers.CharField(
        max_length=200, required=False, help_text="The machine that must run it (default: the first free one)."
    )


class RunConfirmInput(StrictInputSerializer):
    choice = serializers.ChoiceField(choices=["confirmed", "declined"])
    fingerprint = serializers.CharField(max_length=64, required=False)


def _run_or_404(run_id: str) -> Run:
    run = selectors.run_get(run_id=run_id)
    if run is None:
        raise NotFound(f"No run {run_id}.")
    return run


class RunListView(APIView):
    @extend_schema(
        summary="List runs, newest first",
        parameters=[
            OpenApiParameter("status", str, enum=Run.Status.values, description="Only runs in this status."),
            OpenApiParameter("limit", int, description="Page size, 1-200 (default 50)."),
            OpenApiParameter("offset", int, description="Runs to skip (default 0)."),
        ],
        responses=RunPage,
    )
    def get(self, request):
        status = request.query_params.get("status") or None
        if status and status not in Run.Status.values:
            raise InvalidInput("status", f"must be one of {', '.join(Run.Status.values)}")
        limit, offset = page_params(request.query_params)
        runs, total = selectors.run_list(status=status, limit=limit, offset=offset)
        return Response({"items": [run_record(r) for r in runs], "total": total, "limit": limit, "offset": offset})

    @extend_schema(
        summary="Start a scenario run",
        description="Validates `input` against the scenario's JSON Schema (errors name the field), stores a "
        "`queued` run and hands it to the desktop worker. `model` defaults to the server's default model.",
        request=RunCreateInput,
        responses={202: RunRecord},
    )
    def post(self, request):
        data = _valid(RunCreateInput, request.data)
        run = services.run_create(
            scenario_id=data["scenarioId"],
            auth_provider=data["authProvider"],
            model=data.get("model") or settings.DEFAULT_MODEL,
            input=data["input"],
            limits=dict(data.get("limits") or {}),
            machine=data.get("machine"),
        )
        # The record as created: re-reading it would race with a worker that already took it.
        return Response(run_record(run, retries=[]), status=202)


class RunDetailView(APIView):
    @extend_schema(summary="One run and its events (screenshots as URLs)", responses=RunDetail)
    def get(self, request, run_id: str):
        run = _run_or_404(run_id)
        events = [event_as_dict(e) for e in event_list(owner_id=run.id)]
        return Response({**run_record(run), "scenario": run.scenario, "events": events})


class RunStopView(APIView):
    @extend_schema(
        summary="Stop a run",
        description="A queued run is stopped at once; a running one ends as `stopped` within a second or two "
        "(between actions, inside waits, killing a running shell command). 409 when it already finished.",
        request=None,
        responses={202: RunRecord},
    )
    def post(self, request, run_id: str):
        run = services.run_stop(run_id=run_id)
        return Response(run_record(run), status=202)


class RunPauseView(APIView):
    @extend_schema(
        summary="Pause a run and take the desktop over",
        description="The run halts at its next safe point (a model call in flight is cancelled and asked again "
        "after resume), lets go of held keys and buttons, and turns `paused`; its time budget stops counting. "
        "409 when it is not running.",
        request=None,
        responses={202: RunRecord},
    )
    def post(self, request, run_id: str):
        return Response(run_record(services.run_pause(run_id=run_id)), status=202)


class RunResumeView(APIView):
    @extend_schema(
        summary="Hand the desktop back to a paused run",
        description="It goes on from a fresh screenshot, told that a person used the desktop meanwhile. 409 when "
        "it is not paused.",
        request=None,
        responses={202: RunRecord},
    )
    def post(self, request, run_id: str):
        return Response(run_record(services.run_resume(run_id=run_id)), status=202)


class RunRetryView(APIView):
    @extend_schema(
        summary="Retry a finished run",
        description="A new run with the original scenario, provider, model and input; `retryOf` links it to "
        "the original, whose `retries` lists it.",
        request=None,
        responses={202: RunRecord},
    )
    def post(self, request, run_id: str):
        run = services.run_retry(run_id=run_id)
        return Response(run_record(run, retries=[]), status=202)


class RunConfirmView(APIView):
    @extend_schema(
        summary="Answer the run's pending confirmation",
        description="Approves or declines the one action the run is waiting on. Pass the `fingerprint` from the "
        "`confirmation_required` event to make sure the answer applies to that exact action.",
        request=RunConfirmInput,
        responses={200: inline_serializer("ConfirmationAnswer", {"status": serializers.CharField()})},
    )
    def post(self, request, run_id: str):
        data = _valid(RunConfirmInput, request.data)
        answered = services.run_confirm(run_id=run_id, choice=data["choice"], fingerprint=data.get("fingerprint"))
        return Response({"status": answered.status, "fingerprint": answered.fingerprint, "kind": answered.kind})


class RunReplayView(APIView):
    @extend_schema(
        summary="Download the run's replay archive (zip)",
        description="manifest.json, events.jsonl, the screenshots and a self-contained index.html that steps "
        "through the run (open it from the unzipped folder; no server needed).",
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
    )
    def get(self, request, run_id: str):
        from runs.replay import replay_build

        run = _run_or_404(run_id)
        data = replay_build(run=run)
        response = HttpResponse(data, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="deskhand-{run.id}.zip"'
        response["Cache-Control"] = "no-store"
        return response


def _valid(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
