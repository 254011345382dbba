"""HTTP interface of the log folder: the listing and one file as plain text."""

from django.http import FileResponse, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import InvalidInput

from . import selectors


class LogFileSerializer(serializers.Serializer):
    name = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes.")
    modified = serializers.DateTimeField()


class LogFileListSerializer(serializers.Serializer):
    items = LogFileSerializer(many=True)
    total = serializers.IntegerField()


def _plain_text(response):
    response["Content-Type"] = "text/plain; charset=utf-8"
    # Never rendered as HTML by a browser, whatever a log line contains.
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


class LogFileListView(APIView):
    @extend_schema(
        tags=["logs"],
        operation_id="logs_files_list",
        summary="Log files in $DESKHAND_DATA_DIR/logs (one per process, rotated copies .log.N)",
        responses=LogFileListSerializer,
    )
    def get(self, request):
        files = selectors.log_file_list()
        return Response({"items": files, "total": len(files)})


class LogFileView(APIView):
    @extend_schema(
        tags=["logs"],
        summary="One log file as plain text",
        operation_id="logs_file_retrieve",
        description="Only names from the folder's own listing are served; anything else is 404.",
        parameters=[
            OpenApiParameter("tail", int, description=f"Only the last N lines (1 to {selectors.MAX_TAIL_LINES}).")
        ],
        responses={(200, "text/plain"): OpenApiTypes.STR, 404: OpenApiResponse(description="No such log file")},
    )
    def get(self, request, filename: str):
        raw_tail = request.query_params.get("tail")
        tail = None
        if raw_tail is not None:
            if not raw_tail.isdigit() or not 1 <= int(raw_tail) <= selectors.MAX_TAIL_LINES:
                raise InvalidInput("tail", f"must be an integer from 1 to {selectors.MAX_TAIL_LINES}")
            tail = int(raw_tail)
        handle = selectors.log_file_open(filename=filename)
        if tail is None:
            return _plain_text(FileResponse(handle, content_type="text/plain; charset=utf-8"))
        with handle:
            return _plain_text(HttpResponse(selectors.read_tail(handle, tail)))
