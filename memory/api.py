"""HTTP interface of memory: global entries, app profiles, create (or merge) and delete entries."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import InvalidInput, NotFound
from core.serializers import StrictInputSerializer

from . import selectors, services
from .models import MemoryEntry


class MemoryEntryInputSerializer(StrictInputSerializer):
    # Types only: the rules (non-empty, known category, 0..1, short tags) live in the service, so
    # the agent's `remember` tool meets the same ones.
    content = serializers.JSONField(help_text="The fact, preference or procedure, in a sentence or two.")
    category = serializers.JSONField(help_text=f"One of: {', '.join(MemoryEntry.Category.values)}.")
    appContext = serializers.JSONField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The application it is about (matched case-insensitively against profile names and "
        "aliases; a profile is created on first use). Omit or null for a global entry.",
    )
    tags = serializers.JSONField(required=False, default=list, help_text="Up to 20 short strings.")
    confidence = serializers.JSONField(required=False, default=1.0, help_text="0 to 1; default 1.")


class MemoryEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    content = serializers.CharField()
    category = serializers.ChoiceField(choices=MemoryEntry.Category.values)
    appContext = serializers.CharField(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())
    confidence = serializers.FloatField()
    source = serializers.ChoiceField(choices=MemoryEntry.Source.values, help_text="person (API, admin) or agent.")
    sourceOwnerId = serializers.CharField(
        allow_null=True, help_text="The run or live session an agent entry came from."
    )
    useCount = serializers.IntegerField(help_text="How many tasks this entry was given to.")
    lastUsedAt = serializers.DateTimeField(allow_null=True)
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


class MemoryEntryListSerializer(serializers.Serializer):
    items = MemoryEntrySerializer(many=True)
    total = serializers.IntegerField()


class AppProfileSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    aliases = serializers.ListField(child=serializers.CharField())
    notes = serializers.CharField()
    entryCount = serializers.IntegerField()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


class AppProfileDetailSerializer(AppProfileSerializer):
    entries = MemoryEntrySerializer(many=True)


class AppProfileListSerializer(serializers.Serializer):
    items = AppProfileSerializer(many=True)
    total = serializers.IntegerField()


class GlobalMemoryView(APIView):
    @extend_schema(
        tags=["memory"],
        operation_id="memory_global_list",
        summary="Global memory entries (not tied to an app), newest first",
        responses=MemoryEntryListSerializer,
    )
    def get(self, request):
        entries = selectors.memory_entry_list_global()
        return Response({"items": [selectors.memory_entry_as_dict(e) for e in entries], "total": len(entries)})


class AppProfileListView(APIView):
    @extend_schema(
        tags=["memory"],
        operation_id="memory_apps_list",
        summary="App profiles with their aliases and entry counts",
        responses=AppProfileListSerializer,
    )
    def get(self, request):
        profiles = selectors.app_profile_list()
        return Response({"items": [selectors.app_profile_as_dict(p) for p in profiles], "total": len(profiles)})


class AppProfileDetailView(APIView):
    @extend_schema(
        tags=["memory"],
        summary="One app profile and its entries, by name or alias (any case)",
        operation_id="memory_app_retrieve",
        responses={200: AppProfileDetailSerializer, 404: OpenApiResponse(description="No such app")},
    )
    def get(self, request, name: str):
        profile = selectors.app_profile_find(name=name)
        if profile is None:
            raise NotFound(f"No app profile named {name!r}")
        entries = selectors.app_profile_entries(profile=profile)
        return Response(selectors.app_profile_as_dict(profile, entries=entries))


class MemoryEntryCreateView(APIView):
    @extend_schema(
        tags=["memory"],
        summary="Create a memory entry (a duplicate is merged into the existing one)",
        description="Same content (ignoring case, spacing and a final full stop) for the same app is a "
        "duplicate: the existing entry gets the union of the tags and the higher confidence, and is "
        "returned with 200. A new entry is returned with 201.",
        request=MemoryEntryInputSerializer,
        responses={201: MemoryEntrySerializer, 200: MemoryEntrySerializer},
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
        if not isinstance(request.data, dict):
            raise InvalidInput("body", "must be a JSON object")
        data = MemoryEntryInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        entry, created = services.memory_entry_upsert(
            content=values["content"],
            category=values["category"],
            app_context=values["appContext"],
            tags=values["tags"],
            confidence=values["confidence"],
            source=MemoryEntry.Source.PERSON,
        )
        return Response(
            selectors.memory_entry_as_dict(entry), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class MemoryEntryDetailView(APIView):
    @extend_schema(tags=["memory"], summary="One memory entry", responses=MemoryEntrySerializer)
    def get(self, request, entry_id: int):
        entry = selectors.memory_entry_get(entry_id=entry_id)
        if entry is None:
            raise NotFound(f"No memory entry {entry_id}")
        return Response(selectors.memory_entry_as_dict(entry))

    @extend_schema(tags=["memory"], summary="Delete a memory entry", responses={204: None})
    def delete(self, request, entry_id: int):
        services.memory_entry_delete(entry_id=entry_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
