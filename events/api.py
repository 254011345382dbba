"""Screenshots that events refer to, served only to authenticated callers."""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.views import APIView

from core.errors import NotFound
from core.openapi import errors
from events.selectors import screenshot_get


class ScreenshotView(APIView):
    @extend_schema(
        summary="One stored screenshot (PNG or JPEG)",
        operation_id="screenshots_retrieve",
        responses={
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY, description="The image."),
            (200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY, description="The image."),
            **errors("not_found"),
        },
    )
    def get(self, request, screenshot_id: str):
        shot = screenshot_get(screenshot_id=screenshot_id)
        if shot is None:
            raise NotFound(f"No screenshot {screenshot_id}")
        response = FileResponse(shot.file.open("rb"), content_type=shot.mime)
        response["Cache-Control"] = "private, max-age=86400, immutable"
        return response
