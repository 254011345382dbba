"""System endpoints that read across every app: health."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.disk import disk_nearly_full
from core.logging import logs_writable
from core.openapi import errors
from providers.serializers import AuthProvidersSerializer
from runs.selectors import local_machine_facts, machine_list
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


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "degraded"])
    problems = serializers.ListField(child=serializers.CharField(), help_text="What is down: providers, scenarios.")
    time = serializers.DateTimeField()
    machine = LocalMachineSerializer()
    workers = MachineSerializer(many=True, help_text="Every machine a worker registered.")
    auth = AuthProvidersSerializer()
    scenarios = ScenarioSummarySerializer()
    proxy = ProxyHealthSerializer(help_text="Does each model endpoint (and the HTTPS proxy) answer.")


def health_report() -> dict:
    from providers.selectors import auth_status, proxy_health
    from scenarios.catalog import catalog_summary

    scenarios = catalog_summary()
    proxy = proxy_health()
    workers = MachineSerializer(machine_list(), many=True).data
    problems = [name for name, check in proxy.items() if check.get("status") == "down"]
    if scenarios["errors"]:
        problems.append("scenarios")
    if not any(worker["online"] for worker in workers):
        problems.append("workers")  # nothing can execute a run: no desktop worker heartbeats
    if disk_nearly_full():
        problems.append("disk")
    if not logs_writable():
        problems.append("logs")
    return {
        "status": "degraded" if problems else "ok",
        "problems": problems,
        "time": timezone.now().isoformat(),
        "machine": local_machine_facts(),
        "workers": workers,
        "auth": auth_status()["providers"],
        "scenarios": scenarios,
        "proxy": proxy,
    }


class HealthView(APIView):
    @extend_schema(
        summary="Machine, workers, auth, scenario and proxy health",
        operation_id="system_health",
        responses={200: HealthSerializer, **errors()},
    )
    def get(self, request):
        return Response(health_report())
