"""HTTP interface of the unified history: runs and live sessions in one list."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFound
from core.pagination import DEFAULT_LIMIT, MAX_LIMIT

from . import selectors, services

ITEM_FIELDS = {
    "kind": serializers.ChoiceField(choices=selectors.KINDS),
    "id": serializers.CharField(),
    "title": serializers.CharField(help_text="Run: its title, instruction or scenario. Session: its title."),
    "status": serializers.CharField(),
    "createdAt": serializers.DateTimeField(),
    "startedAt": serializers.DateTimeField(allow_null=True),
    "endedAt": serializers.DateTimeField(allow_null=True, help_text="finishedAt of a run, closedAt of a session."),
    "finishedAt": serializers.DateTimeField(allow_null=True, required=False, help_text="Runs only."),
    "closedAt": serializers.DateTimeField(allow_null=True, required=False, help_text="Sessions only."),
    "authProvider": serializers.CharField(),
    "model": serializers.CharField(),
    "eventCount": serializers.IntegerField(),
    "scenarioId": serializers.CharField(required=False, help_text="Runs only."),
    "commandCount": serializers.IntegerField(required=False, help_text="Sessions only."),
    "links": serializers.DictField(child=serializers.CharField()),
}

HistoryPage = inline_serializer(
    "HistoryPage",
    {
        "items": inline_serializer("HistoryItem", ITEM_FIELDS, many=True),
        "total": serializers.IntegerField(help_text="Records matching the filters, across both kinds."),
        "limit": serializers.IntegerField(),
        "offset": serializers.IntegerField(),
    },
)


class HistoryListView(APIView):
    @extend_schema(
        tags=["history"],
        summary="Runs and live sessions merged, newest first",
        operation_id="history_list",
        parameters=[
            OpenApiParameter("limit", int, description=f"1 to {MAX_LIMIT}, default {DEFAULT_LIMIT}."),
            OpenApiParameter("offset", int, description="Records to skip, default 0."),
            OpenApiParameter("kind", str, enum=list(selectors.KINDS)),
            OpenApiParameter("status", str, description="A run or session status, e.g. succeeded, idle."),
            OpenApiParameter("since", str, description="Created at or after (ISO date or date-time)."),
            OpenApiParameter("until", str, description="Created at or before (ISO date or date-time)."),
        ],
        responses=HistoryPage,
    )
    def get(self, request):
        return Response(selectors.history_list(**selectors.history_query(request.query_params)))


class HistoryRecordView(APIView):
    @extend_schema(
        tags=["history"],
        summary="One run or live session with its events",
        operation_id="history_retrieve",
        responses={
            200: inline_serializer(
                "HistoryRecord",
                {
                    "kind": serializers.ChoiceField(choices=selectors.KINDS),
                    "id": serializers.CharField(),
                    "status": serializers.CharField(),
                    "events": serializers.ListField(child=serializers.DictField()),
                },
            ),
            404: OpenApiResponse(description="No run or session with this id"),
        },
    )
    def get(self, request, record_id: str):
        record = selectors.history_record_get(record_id=record_id)
        if record is None:
            raise NotFound(f"No run or live session {record_id}")
        return Response(selectors.history_record_detail(record=record))

    @extend_schema(
        tags=["history"],
        summary="Delete a run or live session with its events and screenshots",
        responses={
            204: None,
            404: OpenApiResponse(description="No run or session with this id"),
            409: OpenApiResponse(description="It is still running or waiting for a confirmation"),
        },
    )
    def delete(self, request, record_id: str):
        services.history_record_delete(record_id=record_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
