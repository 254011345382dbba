"""System endpoints that read across every app: health."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.health import health_report


class HealthView(APIView):
    @extend_schema(
        summary="Machine, auth, scenario and proxy health, and the problems to fix",
        description="`status` is `ok` when `problems` is empty and `degraded` while any problem holds "
        "(for example the desktop is not reachable). Each problem is `{code, message}`.",
        responses=inline_serializer(
            "Health",
            {
                "status": serializers.ChoiceField(choices=["ok", "degraded"]),
                "problems": serializers.ListField(child=serializers.DictField()),
                "machine": serializers.DictField(),
            },
        ),
    )
    def get(self, request):
        return Response(health_report())
