"""HTTP interface of the unified history: runs and live sessions in one list."""

from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFound
from core.openapi import errors, page_parameters
from core.serializers import page_of
from runs.serializers import RunDetailSerializer, RunSerializer
from sessions.serializers import SessionDetailSerializer, SessionSerializer

from . import selectors, services

HistoryItem = PolymorphicProxySerializer(
    component_name="HistoryItem",
    serializers=[RunSerializer, SessionSerializer],
    resource_type_field_name="kind",
    many=True,
)
HistoryPage = page_of(HistoryItem, "HistoryPage")
HistoryRecord = PolymorphicProxySerializer(
    component_name="HistoryRecord",
    serializers=[RunDetailSerializer, SessionDetailSerializer],
    resource_type_field_name="kind",
)
MOMENT = {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]}


class HistoryListView(APIView):
    @extend_schema(
        tags=["history"],
        summary="Runs and live sessions merged, newest first",
        description="Each item is a run (as in GET /api/runs) or a live session (as in GET /api/live-sessions), "
        "told apart by `kind`.",
        operation_id="history_list",
        parameters=[
            *page_parameters(),
            OpenApiParameter("kind", str, enum=list(selectors.KINDS)),
            OpenApiParameter(
                "status", str, enum=selectors.STATUSES, description="A run or session status (of `kind` if given)."
            ),
            OpenApiParameter("since", MOMENT, description="Created at or after (a bare date: from its start)."),
            OpenApiParameter("until", MOMENT, description="Created at or before (a bare date: to its end)."),
        ],
        responses={200: HistoryPage, **errors("invalid_input")},
    )
    def get(self, request):
        return Response(selectors.history_list(**selectors.history_query(request.query_params)))


class HistoryRecordView(APIView):
    @extend_schema(
        tags=["history"],
        summary="One run or live session with its events",
        description="Exactly what GET /api/runs/:id or GET /api/live-sessions/:id answers for it.",
        operation_id="history_retrieve",
        responses={200: HistoryRecord, **errors("not_found")},
    )
    def get(self, request, record_id: str):
        record = selectors.history_record_get(record_id=record_id)
        if record is None:
            raise NotFound(f"No run or live session {record_id}")
        return Response(selectors.history_record_detail(record=record))

    @extend_schema(
        tags=["history"],
        summary="Delete a run or live session with its events and screenshots",
        description="409 while it is still running or waiting for a confirmation (`details.status` says which).",
        operation_id="history_destroy",
        request=None,
        responses={204: None, **errors("not_found", "conflict")},
    )
    def delete(self, request, record_id: str):
        services.history_record_delete(record_id=record_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
