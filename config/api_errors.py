"""One error shape for the whole API: {"code", "message", "details"}."""

import logging

from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import AppError, disk_full_error, error_body, error_response, is_disk_full
from core.redact import redact

logger = logging.getLogger("deskhand.api")

_DRF_CODES = {
    exceptions.ParseError: "invalid_json",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "not_authenticated",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
    exceptions.NotAcceptable: "not_acceptable",
}


def _first_message(detail, path=""):
    """The first leaf message with the path of the field it belongs to, e.g. ("input.name", "...")."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            return _first_message(value, f"{path}.{key}" if path else str(key))
    if isinstance(detail, list) and detail:
        first = detail[0]
        if isinstance(first, (dict, list)):
            return _first_message(first, path)
        return path, str(first)
    return path, str(detail)


def _plain(detail):
    if isinstance(detail, dict):
        return {key: _plain(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_plain(value) for value in detail]
    return str(detail)


def exception_handler(exc, context):
    if is_disk_full(exc):
        exc = disk_full_error()
    if isinstance(exc, AppError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.http_status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, exceptions.ValidationError):
        field, message = _first_message(exc.detail)
        if field in ("non_field_errors", ""):
            text = message
        else:
            text = f"{field}: {message}"
        details = {"field": field, "errors": _plain(exc.detail)}
        return Response(error_body("invalid_input", text, details), status=400)
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled API error")
        return Response(error_body("server_error", "Internal error; see the server log."), status=500)
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    response.data = error_body(code, redact(str(detail)))
    return response


def json_not_found(request, exception=None):
    return error_response(404, "not_found", f"No such endpoint: {request.path}")


def json_server_error(request):
    return error_response(500, "server_error", "Internal error; see the server log.")
