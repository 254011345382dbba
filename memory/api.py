"""HTTP interface of memory: global entries, app profiles, create (or merge) and delete entries."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import InvalidInput, NotFound
from core.openapi import errors, page_parameters
from core.pagination import page, page_params, whole_number
from core.serializers import RuleCheckedField, StrictInputSerializer, page_of, validated_input

from . import selectors, services
from .models import MemoryEntry
from .serializers import AppProfileDetailSerializer, AppProfileSerializer, MemoryEntrySerializer

TAGS = ["memory"]
# Entry ids are database integers: a larger one names no entry (and would overflow a query).
MAX_ENTRY_ID = 2**63 - 1
# Some character that is not a space, and no NUL (core.parsers).
NOT_ONLY_SPACES = r"^[^\u0000]*\S[^\u0000]*$"


class MemoryEntryInputSerializer(StrictInputSerializer):
    # The rules (non-empty, known category, 0..1, short tags) live in the service, so the agent's
    # `remember` tool meets the same ones; the fields only document them.
    content = RuleCheckedField(
        schema={
            "type": "string",
            "minLength": 1,
            "maxLength": services.MAX_CONTENT_CHARS,
            "pattern": NOT_ONLY_SPACES,
            "description": "The fact, preference or procedure, in a sentence or two.",
        },
    )
    category = RuleCheckedField(schema={"type": "string", "enum": MemoryEntry.Category.values})
    appContext = RuleCheckedField(
        required=False,
        allow_null=True,
        default=None,
        schema={
            "type": "string",
            "nullable": True,
            "maxLength": services.MAX_APP_NAME_CHARS,
            "pattern": r"^[^/\u0000]*$",
            "description": "The application it is about (matched case-insensitively against profile names and "
            "aliases; a profile is created on first use). Omit or null for a global entry.",
        },
    )
    tags = RuleCheckedField(
        required=False,
        default=list,
        schema={
            "type": "array",
            "maxItems": services.MAX_TAGS,
            "items": {
                "type": "string",
                "minLength": 1,
                "maxLength": services.MAX_TAG_CHARS,
                "pattern": NOT_ONLY_SPACES,
            },
            "description": "Short strings; the same tag twice (any case) is kept once.",
        },
    )
    confidence = RuleCheckedField(
        required=False, default=1.0, schema={"type": "number", "minimum": 0, "maximum": 1, "default": 1}
    )


MemoryEntryPage = page_of(MemoryEntrySerializer, "MemoryEntryPage")
AppProfilePage = page_of(AppProfileSerializer, "AppProfilePage")


class GlobalMemoryView(APIView):
    @extend_schema(
        tags=TAGS,
        operation_id="memory_global_list",
        summary="Global memory entries (not tied to an app), newest first",
        parameters=page_parameters(),
        responses={200: MemoryEntryPage, **errors("invalid_input")},
    )
    def get(self, request):
        limit, offset = page_params(request.query_params)
        entries, total = selectors.memory_entry_list_global(limit=limit, offset=offset)
        return Response(page(MemoryEntrySerializer(entries, many=True).data, total=total, limit=limit, offset=offset))


class AppProfileListView(APIView):
    @extend_schema(
        tags=TAGS,
        operation_id="memory_apps_list",
        summary="App profiles with their aliases and entry counts, by name",
        parameters=page_parameters(),
        responses={200: AppProfilePage, **errors("invalid_input")},
    )
    def get(self, request):
        limit, offset = page_params(request.query_params)
        profiles, total = selectors.app_profile_list(limit=limit, offset=offset)
        return Response(page(AppProfileSerializer(profiles, many=True).data, total=total, limit=limit, offset=offset))


class AppProfileDetailView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="One app profile and its entries, by name or alias (any case)",
        operation_id="memory_app_retrieve",
        responses={200: AppProfileDetailSerializer, **errors("not_found")},
    )
    def get(self, request, name: str):
        profile = selectors.app_profile_detail(name=name)
        if profile is None:
            raise NotFound(f"No app profile named {name!r}")
        return Response(AppProfileDetailSerializer(profile).data)


class MemoryEntryCreateView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Create a memory entry (a duplicate is merged into the existing one)",
        description="Same content (ignoring case, spacing and a final full stop) for the same app is a "
        "duplicate: the existing entry gets the union of the tags and the higher confidence, and is "
        "returned with 200. A new entry is returned with 201.",
        operation_id="memory_create",
        request=MemoryEntryInputSerializer,
        responses={201: MemoryEntrySerializer, 200: MemoryEntrySerializer, **errors("invalid_input")},
        examples=[
            OpenApiExample(
                "Preference",
                value={
                    "content": "User prefers Chrome over Edge for browser tasks.",
                    "category": "preference",
                    "appContext": "Chrome",
                    "tags": ["browser", "preference"],
                    "confidence": 0.9,
                },
                request_only=True,
            )
        ],
    )
    def post(self, request):
        values = validated_input(MemoryEntryInputSerializer, request.data)
        entry, created = services.memory_entry_upsert(
            content=values["content"],
            category=values["category"],
            app_context=values["appContext"],
            tags=values["tags"],
            confidence=values["confidence"],
            source=MemoryEntry.Source.PERSON,
        )
        return Response(
            MemoryEntrySerializer(entry).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


ENTRY_ID = OpenApiParameter(
    "entry_id", {"type": "integer", "minimum": 1}, OpenApiParameter.PATH, description="The entry's id."
)


def _entry_id(raw: str) -> int:
    """The id in the path; anything that is not a whole number names no entry (404, as an unknown id)."""
    try:
        return whole_number(raw, "entry_id", default=0, low=1, high=MAX_ENTRY_ID)
    except InvalidInput:
        raise NotFound(f"No memory entry {raw}") from None


class MemoryEntryDetailView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="One memory entry",
        operation_id="memory_retrieve",
        parameters=[ENTRY_ID],
        responses={200: MemoryEntrySerializer, **errors("not_found")},
    )
    def get(self, request, entry_id: str):
        entry = selectors.memory_entry_get(entry_id=_entry_id(entry_id))
        if entry is None:
            raise NotFound(f"No memory entry {entry_id}")
        return Response(MemoryEntrySerializer(entry).data)

    @extend_schema(
        tags=TAGS,
        summary="Delete a memory entry",
        operation_id="memory_destroy",
        parameters=[ENTRY_ID],
        request=None,
        responses={204: None, **errors("not_found")},
    )
    def delete(self, request, entry_id: str):
        services.memory_entry_delete(entry_id=_entry_id(entry_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
