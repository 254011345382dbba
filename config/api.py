"""System endpoints that read across every app: health."""

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.disk import disk_nearly_full
from core.logging import logs_writable
from runs.selectors import local_machine_facts, machine_list


def _machine_record(machine) -> dict:
    stale_after = settings.HEARTBEAT_STALE_SECONDS
    age = (timezone.now() - machine.last_heartbeat).total_seconds() if machine.last_heartbeat else None
    return {
        "name": machine.name,
        "platform": machine.platform,
        "screen": {"width": machine.screen_width, "height": machine.screen_height} if machine.screen_width else None,
        "displayReachable": machine.display_reachable,
        "lastHeartbeat": machine.last_heartbeat.isoformat() if machine.last_heartbeat else None,
        "online": age is not None and age < stale_after,
        "busy": bool(machine.desktop_holder),
    }


def health_report() -> dict:
    from providers.selectors import auth_status, proxy_health
    from scenarios.catalog import catalog_summary

    scenarios = catalog_summary()
    proxy = proxy_health()
    machine = local_machine_facts()
    workers = [_machine_record(m) for m in machine_list()]
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
        "machine": machine,
        "workers": workers,
        "auth": auth_status()["providers"],
        "scenarios": scenarios,
        "proxy": proxy,
    }


class HealthView(APIView):
    @extend_schema(
        summary="Machine, auth, scenario and proxy health",
        responses=inline_serializer("Health", {"status": serializers.CharField(), "machine": serializers.DictField()}),
    )
    def get(self, request):
        return Response(health_report())
