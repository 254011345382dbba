"""HTTP interface of the log folder: the listing and one file as plain text."""

from django.http import FileResponse, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.openapi import errors, page_parameters
from core.pagination import page, page_params, query_param, whole_number
from core.serializers import page_of

from . import selectors


class LogFileSerializer(serializers.Serializer):
    name = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes.")
    modified = serializers.DateTimeField()


LogFilePage = page_of(LogFileSerializer, "LogFilePage")


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
        parameters=page_parameters(),
        responses={200: LogFilePage, **errors("invalid_input")},
    )
    def get(self, request):
        limit, offset = page_params(request.query_params)
        files = selectors.log_file_list()
        return Response(page(files[offset : offset + limit], total=len(files), limit=limit, offset=offset))


class LogFileView(APIView):
    @extend_schema(
        tags=["logs"],
        summary="One log file as plain text",
        operation_id="logs_file_retrieve",
        description="Only names from the folder's own listing are served; anything else is 404.",
        parameters=[
            OpenApiParameter(
                "tail",
                {"type": "integer", "minimum": 1, "maximum": selectors.MAX_TAIL_LINES},
                description="Only the last N lines.",
            )
        ],
        responses={
            (200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="The file's text."),
            **errors("invalid_input", "not_found"),
        },
    )
    def get(self, request, filename: str):
        raw_tail = query_param(request.query_params, "tail")
        tail = whole_number(raw_tail, "tail", default=0, low=1, high=selectors.MAX_TAIL_LINES) or None
        handle = selectors.log_file_open(filename=filename)
        if tail is None:
            return _plain_text(FileResponse(handle, content_type="text/plain; charset=utf-8"))
        with handle:
            return _plain_text(HttpResponse(selectors.read_tail(handle, tail)))
