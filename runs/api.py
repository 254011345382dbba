"""The runs API: start, list, read, stop, retry, confirm, replay. Views parse, call one service, render."""

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFound
from core.openapi import errors, page_parameters
from core.pagination import choice_param, page, page_params
from core.serializers import StrictCharField, StrictInputSerializer, page_of, validated_input
from runs import selectors, services
from runs.models import AuthProvider, Run, RunMode
from runs.serializers import ConfirmationSerializer, MachineSerializer, RunDetailSerializer, RunSerializer
from scenarios.catalog import LIMIT_RANGES

RunPage = page_of(RunSerializer, "RunPage")
MachinePage = page_of(MachineSerializer, "MachinePage")


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
    scenarioId = StrictCharField(max_length=100, help_text="An id from GET /api/scenarios.")
    authProvider = serializers.ChoiceField(choices=AuthProvider.choices, default=AuthProvider.API_KEY)
    model = StrictCharField(
        max_length=100, required=False, help_text="Default: DESKHAND_DEFAULT_MODEL.", allow_blank=False
    )
    limits = RunLimitsInput(required=False)
    machine = StrictCharField(
        max_length=200, required=False, help_text="The machine that must run it (default: the first free one)."
    )
    input = serializers.DictField(
        required=False, default=dict, help_text="Checked against the scenario's `inputSchema`; errors name the field."
    )
    mode = serializers.ChoiceField(
        choices=RunMode.choices,
        required=False,
        help_text='"model": the model decides every step. "replay": replay a recording (`replayOf`, or the newest '
        "succeeded run of the scenario that fits the input; 409 when none does), the model taking over only where "
        'the screen differs. "auto": replay the newest recording that fits, else the model. Default: "replay" with '
        '`replayOf`, "auto" for a scenario marked `autopilot`, "model" otherwise.',
    )
    replayOf = StrictCharField(
        max_length=40,
        required=False,
        help_text="A succeeded run of the same scenario to replay without the model. Every input that differs "
        "from that run's must have been typed by it (409 `recording_not_refillable` otherwise).",
    )


class RunConfirmInput(StrictInputSerializer):
    choice = serializers.ChoiceField(choices=["confirmed", "declined"])
    fingerprint = StrictCharField(
        max_length=64, required=False, help_text="From the `confirmation_required` event: answer that action only."
    )


def _run_or_404(run_id: str) -> Run:
    run = selectors.run_get(run_id=run_id)
    if run is None:
        raise NotFound(f"No run {run_id}.")
    return run


class RunListView(APIView):
    @extend_schema(
        summary="List runs, newest first",
        operation_id="runs_list",
        parameters=[
            OpenApiParameter("status", str, enum=Run.Status.values, description="Only runs in this status."),
            *page_parameters(),
        ],
        responses={200: RunPage, **errors("invalid_input")},
    )
    def get(self, request):
        status = choice_param(request.query_params, "status", Run.Status.values)
        limit, offset = page_params(request.query_params)
        runs, total = selectors.run_list(status=status, limit=limit, offset=offset)
        return Response(page(RunSerializer(runs, many=True).data, total=total, limit=limit, offset=offset))

    @extend_schema(
        operation_id="runs_create",
        summary="Start a scenario run",
        description="Validates `input` against the scenario's JSON Schema (errors name the field), stores a "
        "`queued` run and hands it to the desktop worker. `model` defaults to the server's default model.",
        request=RunCreateInput,
        responses={
            202: RunSerializer,
            **errors(
                "invalid_input",
                "disk_full",
                "no_recording",
                "recording_not_succeeded",
                "recording_not_replayable",
                "recording_not_refillable",
            ),
        },
    )
    def post(self, request):
        data = validated_input(RunCreateInput, request.data)
        run = services.run_create(
            scenario_id=data["scenarioId"],
            auth_provider=data["authProvider"],
            model=data.get("model") or settings.DEFAULT_MODEL,
            input=data["input"],
            limits=dict(data.get("limits") or {}),
            machine=data.get("machine"),
            mode=data.get("mode"),
            replay_of=data.get("replayOf"),
        )
        # The record as created: re-reading it would race with a worker that already took it.
        return Response(RunSerializer(run).data, status=202)


class RunDetailView(APIView):
    @extend_schema(
        summary="One run with its scenario and events (screenshots as URLs)",
        operation_id="runs_retrieve",
        responses={200: RunDetailSerializer, **errors("not_found")},
    )
    def get(self, request, run_id: str):
        return Response(RunDetailSerializer(_run_or_404(run_id)).data)


class RunStopView(APIView):
    @extend_schema(
        operation_id="runs_stop",
        summary="Stop a run",
        description="A queued run is stopped at once; a running (or paused) one turns `stopping` and ends as "
        "`stopped` within a second or two: a model call in flight is cancelled, a running shell command killed. "
        "A run whose worker is gone is ended at once. 409 when it already finished.",
        request=None,
        responses={202: RunSerializer, **errors("not_found", "run_finished")},
    )
    def post(self, request, run_id: str):
        return Response(RunSerializer(services.run_stop(run_id=run_id)).data, status=202)


class RunPauseView(APIView):
    @extend_schema(
        operation_id="runs_pause",
        summary="Pause a run and take the desktop over",
        description="The run halts at its next safe point (a model call in flight is cancelled and asked again "
        "after resume), lets go of held keys and buttons, and turns `paused`; its time budget stops counting. "
        "Asking twice is the same request. 409 when it is not running.",
        request=None,
        responses={202: RunSerializer, **errors("not_found", "not_running")},
    )
    def post(self, request, run_id: str):
        return Response(RunSerializer(services.run_pause(run_id=run_id)).data, status=202)


class RunResumeView(APIView):
    @extend_schema(
        operation_id="runs_resume",
        summary="Hand the desktop back to a paused run",
        description="It goes on from a fresh screenshot, told that a person used the desktop meanwhile. 409 when "
        "it is not paused.",
        request=None,
        responses={202: RunSerializer, **errors("not_found", "not_paused")},
    )
    def post(self, request, run_id: str):
        return Response(RunSerializer(services.run_resume(run_id=run_id)).data, status=202)


class RunRetryView(APIView):
    @extend_schema(
        operation_id="runs_retry",
        summary="Retry a finished run",
        description="A new run with the original scenario, provider, model and input; `retryOf` links it to "
        "the original, whose `retries` lists it. It is asked for the same way: a replay replays the same "
        'recording again, and mode "auto" takes the newest recording that fits now.',
        request=None,
        responses={
            202: RunSerializer,
            **errors(
                "not_found",
                "run_active",
                "scenario_gone",
                "secret_inputs_gone",
                "disk_full",
                "no_recording",
                "recording_not_succeeded",
                "recording_not_replayable",
                "recording_not_refillable",
            ),
        },
    )
    def post(self, request, run_id: str):
        return Response(RunSerializer(services.run_retry(run_id=run_id)).data, status=202)


class RunConfirmView(APIView):
    @extend_schema(
        operation_id="runs_confirm",
        summary="Answer the run's pending confirmation",
        description="Approves or declines the one action the run is waiting on. Pass the `fingerprint` from the "
        "`confirmation_required` event to make sure the answer applies to that exact action. Answers the "
        "confirmation as answered.",
        request=RunConfirmInput,
        responses={200: ConfirmationSerializer, **errors("invalid_input", "not_found", "no_pending_confirmation")},
    )
    def post(self, request, run_id: str):
        data = validated_input(RunConfirmInput, request.data)
        answered = services.run_confirm(run_id=run_id, choice=data["choice"], fingerprint=data.get("fingerprint"))
        return Response(ConfirmationSerializer(answered).data)


class RunReplayView(APIView):
    @extend_schema(
        operation_id="runs_replay",
        summary="Download the run's replay archive (zip)",
        description="manifest.json, events.jsonl, the screenshots and a self-contained index.html that steps "
        "through the run (open it from the unzipped folder; no server needed).",
        responses={
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="The archive."),
            **errors("not_found"),
        },
    )
    def get(self, request, run_id: str):
        from runs.replay import replay_build

        run = _run_or_404(run_id)
        data = replay_build(run=run)
        response = HttpResponse(data, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="deskhand-{run.id}.zip"'
        response["Cache-Control"] = "no-store"
        return response


class MachineListView(APIView):
    @extend_schema(
        tags=["machines"],
        summary="The desktop machines, by name: online, what each is doing, the runs waiting for it",
        operation_id="machines_list",
        description="Every machine whose worker ever registered (`manage.py worker`, or the embedded worker of "
        "`serve`), with its worker's heartbeat, screen, and the run or live session driving it now. A name "
        "here is what `machine` of `POST /api/runs` and `POST /api/live-sessions` takes.",
        parameters=[
            OpenApiParameter(
                "status", str, enum=selectors.MachineStatus.values, description="Only machines in this status."
            ),
            *page_parameters(),
        ],
        responses={200: MachinePage, **errors("invalid_input")},
    )
    def get(self, request):
        status = choice_param(request.query_params, "status", selectors.MachineStatus.values)
        limit, offset = page_params(request.query_params)
        machines, total = selectors.machine_page(status=status, limit=limit, offset=offset)
        return Response(page(MachineSerializer(machines, many=True).data, total=total, limit=limit, offset=offset))
