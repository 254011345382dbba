"""The output shapes of memory: an entry and an app profile."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.serializers import TimestampField
from memory.models import AppProfile, MemoryEntry


class MemoryEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    content = serializers.CharField()
    category = serializers.ChoiceField(choices=MemoryEntry.Category.choices)
    appContext = serializers.CharField(
        source="app.name", allow_null=True, help_text="The app it is about; null: global."
    )
    tags = serializers.ListField(child=serializers.CharField())
    confidence = serializers.FloatField(min_value=0, max_value=1)
    source = serializers.ChoiceField(choices=MemoryEntry.Source.choices, help_text="person (API, admin) or agent.")
    sourceOwnerId = serializers.CharField(
        source="source_owner_id", allow_null=True, help_text="The run or live session an agent entry came from."
    )
    useCount = serializers.IntegerField(source="use_count", help_text="How many tasks this entry was given to.")
    lastUsedAt = TimestampField(source="last_used_at", allow_null=True)
    createdAt = TimestampField(source="created_at")
    updatedAt = TimestampField(source="updated_at")

    def to_representation(self, entry: MemoryEntry) -> dict:
        record = super().to_representation(entry)
        record["tags"] = list(entry.tags or [])
        record["sourceOwnerId"] = entry.source_owner_id or None
        return record


class AppProfileSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    aliases = serializers.ListField(child=serializers.CharField(), help_text="Other names it is found by, any case.")
    notes = serializers.CharField()
    entryCount = serializers.IntegerField(source="entry_count")
    createdAt = TimestampField(source="created_at")
    updatedAt = TimestampField(source="updated_at")

    def to_representation(self, profile: AppProfile) -> dict:
        return {**super().to_representation(profile), "aliases": list(profile.aliases or [])}


class AppProfileDetailSerializer(AppProfileSerializer):
    """An app profile with its memory entries, newest first."""

    entries = serializers.SerializerMethodField()

    @extend_schema_field(MemoryEntrySerializer(many=True))
    def get_entries(self, profile: AppProfile) -> list[dict]:
        return MemoryEntrySerializer(profile.entry_list, many=True).data
