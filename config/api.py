"""System endpoints that read across every app: health."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.health import health_report
from core.openapi import errors
from providers.serializers import AuthProvidersSerializer
from runs.serializers import MachineSerializer, ScreenSizeSerializer
from scenarios.serializers import ScenarioErrorSerializer


class LocalMachineSerializer(serializers.Serializer):
    """The machine this server process runs on, measured now."""

    name = serializers.CharField()
    hostname = serializers.CharField()
    platform = serializers.CharField()
    displayReachable = serializers.BooleanField()
    screen = ScreenSizeSerializer(allow_null=True)
    reason = serializers.CharField(help_text="Why the display is not reachable, when it is not.")
    cpuPercent = serializers.FloatField()
    cpuCount = serializers.IntegerField(allow_null=True)
    memory = serializers.DictField(help_text="totalBytes, availableBytes, percent.")


class ScenarioSummarySerializer(serializers.Serializer):
    count = serializers.IntegerField()
    errors = ScenarioErrorSerializer(many=True)
    directory = serializers.CharField()


class ProbeSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "degraded", "down", "not_configured"])
    reason = serializers.CharField(required=False)


class ProxyHealthSerializer(serializers.Serializer):
    api_key = ProbeSerializer()
    codex_oauth = ProbeSerializer()
    https_proxy = ProbeSerializer()

    def get_fields(self):
        return {name.replace("_", "-"): field for name, field in super().get_fields().items()}


class ProblemSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, for scripts: display_unreachable, worker_down, disk_nearly_full …")
    message = serializers.CharField(help_text="What is wrong and what to do, for a person.")


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "degraded"])
    problems = ProblemSerializer(many=True, help_text="What to fix; `status` is `degraded` while any holds.")
    time = serializers.DateTimeField()
    machine = LocalMachineSerializer()
    workers = MachineSerializer(many=True, help_text="Every machine a worker registered.")
    auth = AuthProvidersSerializer()
    scenarios = ScenarioSummarySerializer()
    proxy = ProxyHealthSerializer(help_text="Does each model endpoint (and the HTTPS proxy) answer.")


class HealthView(APIView):
    @extend_schema(
        summary="Machine, workers, auth, scenario and proxy health, and the problems to fix",
        description="`status` is `ok` when `problems` is empty and `degraded` while any problem holds "
        "(the desktop is not reachable, no worker is online, the disk is nearly full …).",
        operation_id="system_health",
        responses={200: HealthSerializer, **errors()},
    )
    def get(self, request):
        return Response(health_report())
