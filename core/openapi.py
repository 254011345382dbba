"""The conventions of the OpenAPI schema, in one place.

- Every operation documents its errors with the one envelope, `code` as an enum of exactly the
  codes it can answer: those its view declares (`errors(...)` in `extend_schema(responses=...)`)
  and those the security middleware can answer before any view runs.
- Streams document `text/event-stream` and, in `x-events`, the `data` of each event type.
- The API token is an HTTP bearer scheme (Swagger UI's Authorize button uses it).
- Strict input serializers say `additionalProperties: false`; constant and link fields say what
  they hold.

`REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]` points at `ApiAutoSchema`; importing this module also
registers the extensions below.
"""

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from core.errors import ERROR_CODES
from core.pagination import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# What the security middleware (config/security.py) and DRF can answer before a view runs.
BEFORE_ANY_VIEW = (
    "bad_host",
    "not_authenticated",
    "cross_site",
    "too_many_sign_in_failures",
    "uri_too_long",
    "headers_too_large",
)
BEFORE_A_WRITE = (
    "csrf_failed",
    "bad_request",
    "body_too_large",
    "body_timeout",
    "unsupported_media_type",
    "disk_full",
)
BEFORE_A_BODY_IS_READ = ("invalid_json", "invalid_input")
# No string of a request may hold a NUL character (core.parsers refuses it: nothing can store it).
NO_NUL = r"^[^\u0000]*$"


class ErrorResponse(OpenApiResponse):
    """The error envelope for these codes (all of one HTTP status)."""

    def __init__(self, codes):
        self.codes = tuple(codes)
        super().__init__(response=None)


def errors(*codes: str) -> dict[int, ErrorResponse]:
    """`responses` entries for the codes a view can answer: `{404: ..., 409: ...}`."""
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(ERROR_CODES[code][0], []).append(code)
    return {status: ErrorResponse(found) for status, found in by_status.items()}


class EventStreamResponse(OpenApiResponse):
    """A Server-Sent-Events stream; `events` maps each event type to the serializer of its `data`."""

    def __init__(self, *, description: str, events: dict):
        self.events = events
        super().__init__(response=OpenApiTypes.STR, description=description)


def page_parameters() -> list[OpenApiParameter]:
    """`limit` and `offset`, as every list takes them (core.pagination)."""
    return [
        OpenApiParameter(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
            description=f"Page size, 1 to {MAX_LIMIT}.",
        ),
        OpenApiParameter(
            "offset",
            {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
            description="Items to skip.",
        ),
    ]


class ErrorDetailsSerializer(serializers.Serializer):
    field = serializers.CharField(required=False, help_text="invalid_input: the parameter or body field at fault.")
    errors = serializers.JSONField(required=False, help_text="invalid_input: every field's problems.")


class ApiAutoSchema(AutoSchema):
    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        plain_string = schema.get("type") == "string" and not {"enum", "format", "pattern"} & set(schema)
        if direction == "request" and isinstance(field, serializers.CharField) and plain_string:
            schema["pattern"] = NO_NUL
        return schema

    def _get_response_for_code(self, serializer, status_code, media_types=None, direction="response"):
        if isinstance(serializer, ErrorResponse):
            return self._error_response(serializer.codes)
        if isinstance(serializer, EventStreamResponse):
            return self._event_stream_response(serializer)
        return super()._get_response_for_code(serializer, status_code, media_types, direction)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        declared = self.get_response_serializers()
        codes = list(BEFORE_ANY_VIEW)
        if isinstance(declared, dict):
            codes += [
                code for answer in declared.values() if isinstance(answer, ErrorResponse) for code in answer.codes
            ]
        if self.method in UNSAFE_METHODS:
            codes += BEFORE_A_WRITE
            if self.get_request_serializer() is not None:
                codes += BEFORE_A_BODY_IS_READ
        for status, answer in errors(*dict.fromkeys(codes)).items():
            responses[str(status)] = self._error_response(answer.codes)
        return dict(sorted(responses.items()))

    def _error_response(self, codes) -> dict:
        details = self.resolve_serializer(ErrorDetailsSerializer, "response").ref
        codes = sorted(codes)
        schema = {
            "type": "object",
            "properties": {
                "code": {"type": "string", "enum": codes},
                "message": {"type": "string", "description": "For people; secrets are masked."},
                "details": details,
            },
            "required": ["code", "message", "details"],
        }
        meaning = "\n".join(f"- `{code}`: {ERROR_CODES[code][1]}" for code in codes)
        return {"description": meaning, "content": {"application/json": {"schema": schema}}}

    def _event_stream_response(self, answer: EventStreamResponse) -> dict:
        events = {}
        for name, data in answer.events.items():
            events[name] = data if isinstance(data, dict) else self.resolve_serializer(data, "response").ref
        listing = ", ".join(f"`{name}`" for name in events)
        return {
            "description": f"{answer.description}\n\nEvent types: {listing}; `x-events` gives each one's `data` schema.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "x-events": events,
        }


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "core.auth.MiddlewareAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The API token: `data/api-token` (generated at first start) or DESKHAND_API_TOKEN.",
        }


class StrictInputSerializerSchema(OpenApiSerializerExtension):
    target_class = "core.serializers.StrictInputSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": False}


class ConstantFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "core.serializers.ConstantField"

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "enum": [self.target.value], "readOnly": True}


class LinksFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "core.serializers.LinksField"

    def map_serializer_field(self, auto_schema, direction):
        names = list(self.target.templates)
        return {
            "type": "object",
            "properties": {name: {"type": "string"} for name in names},
            "required": names,
            "readOnly": True,
        }


class RuleCheckedFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "core.serializers.RuleCheckedField"

    def map_serializer_field(self, auto_schema, direction):
        return dict(self.target.schema)
