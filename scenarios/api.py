"""`GET /api/scenarios`: the catalog as files on disk describe it, broken files included."""

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.openapi import errors, page_parameters
from core.pagination import page, page_params
from core.serializers import page_of
from scenarios.catalog import load_catalog
from scenarios.serializers import ScenarioErrorSerializer, ScenarioSerializer


@extend_schema_serializer(deprecate_fields=["scenarios", "count"])
class ScenarioPage(page_of(ScenarioSerializer, "ScenarioPageBase")):
    errors = ScenarioErrorSerializer(many=True, help_text="Files that do not load, with the reason (every page).")
    scenarios = ScenarioSerializer(many=True, help_text="Deprecated: the same as `items`.")
    count = serializers.IntegerField(help_text="Deprecated: the same as `total`.")


class ScenarioListView(APIView):
    @extend_schema(
        summary="List the scenarios (and the scenario files that could not be loaded)",
        description="Each scenario has an id, title, description, route, instruction template, a JSON "
        "Schema for `input`, limits and success checks, by id. A file that does not load is listed under "
        "`errors` with the reason; the rest of the catalog still works. `scenarios` and `count` are the "
        "first answer's names for `items` and `total`, kept for the clients that read them.",
        operation_id="scenarios_list",
        parameters=page_parameters(),
        responses={200: ScenarioPage, **errors("invalid_input")},
    )
    def get(self, request):
        limit, offset = page_params(request.query_params)
        # Read from disk on each request: editing a file needs no restart, and the folder is small.
        catalog = load_catalog()
        scenarios = sorted(catalog.scenarios.values(), key=lambda s: s.id)
        items = ScenarioSerializer(scenarios[offset : offset + limit], many=True).data
        body = page(items, total=len(scenarios), limit=limit, offset=offset)
        return Response({**body, "errors": catalog.errors, "scenarios": items, "count": len(scenarios)})
