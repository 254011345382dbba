"""`GET /api/scenarios`: the catalog as files on disk describe it, broken files included."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from scenarios.catalog import load_catalog

ScenarioListResponse = inline_serializer(
    "ScenarioList",
    {
        "scenarios": serializers.ListField(child=serializers.DictField()),
        "errors": serializers.ListField(child=serializers.DictField()),
        "count": serializers.IntegerField(),
    },
)


class ScenarioListView(APIView):
    @extend_schema(
        summary="List the scenarios (and the scenario files that could not be loaded)",
        description="Each scenario has an id, title, description, route, instruction template, a JSON "
        "Schema for `input`, limits and success checks. A file that does not load is listed under "
        "`errors` with the reason; the rest of the catalog still works.",
        responses=ScenarioListResponse,
    )
    def get(self, request):
        # Read from disk on each request: editing a file needs no restart, and the folder is small.
        catalog = load_catalog()
        scenarios = [s.as_dict() for s in sorted(catalog.scenarios.values(), key=lambda s: s.id)]
        return Response({"scenarios": scenarios, "errors": catalog.errors, "count": len(scenarios)})
