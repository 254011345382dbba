"""Serializer helpers shared by every app's API."""

from rest_framework import serializers


class StrictInputSerializer(serializers.Serializer):
    """An input serializer that refuses keys it does not know.

    A misspelt key silently ignored is a bug report waiting to happen ("text" instead of
    "instruction" would otherwise look like a missing field with no hint why).
    """

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: [f"Unknown field. Expected one of: {', '.join(sorted(self.fields))}."] for name in unknown}
                )
        return super().to_internal_value(data)
