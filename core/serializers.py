"""Serializer pieces shared by every app: strict input, and the small field types of the output shapes.

Each resource has one output serializer (`<app>/serializers.py`) that both renders it (the API, the
history, the pages, the replay archive all call it) and documents it in the OpenAPI schema.
"""

from rest_framework import serializers

from core.errors import InvalidInput


# An input serializer that refuses keys it does not know: a misspelt key silently ignored is a bug
# report waiting to happen ("text" instead of "instruction" would otherwise look like a missing field
# with no hint why). The schema says so too (`additionalProperties: false`, see core.openapi).
# (A comment, not a docstring: the schema would show it as every input's description.)
class StrictInputSerializer(serializers.Serializer):
    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: [f"Unknown field. Expected one of: {', '.join(sorted(self.fields))}."] for name in unknown}
                )
        return super().to_internal_value(data)


def validated_input(serializer_class: type[serializers.Serializer], data) -> dict:
    """The request body checked by `serializer_class`; a body that is not a JSON object is a 400 naming `body`."""
    if not isinstance(data, dict):
        raise InvalidInput("body", "must be a JSON object")
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class StrictCharField(serializers.CharField):
    """A string, and only a string: DRF's CharField would turn 5 or true into "5" / "True"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class TimestampField(serializers.DateTimeField):
    """An aware date-time as `datetime.isoformat()` writes it (UTC as +00:00), the same in every
    shape and in the event stream."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value):
        return value.isoformat() if value else None


class ConstantField(serializers.Field):
    """The same string for every instance, e.g. `kind: "run"`; documented as a one-value enum."""

    def __init__(self, value: str, **kwargs):
        self.value = value
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, instance):
        return self.value


class LinksField(serializers.Field):
    """Where to find related things: {name: path}, each path a template over the instance's `pk`."""

    def __init__(field, **templates: str):
        field.templates = templates
        super().__init__(source="*", read_only=True)

    def to_representation(self, instance):
        return {name: template.format(id=instance.pk) for name, template in self.templates.items()}


# The one answer of every list (built by core.pagination.page); `page_of` names its `items`.
class PageSerializer(serializers.Serializer):
    """One page of a list, newest or first items first."""

    total = serializers.IntegerField(help_text="Items matching the filters, on every page.")
    limit = serializers.IntegerField(help_text="The page size asked for (1-200, default 50).")
    offset = serializers.IntegerField(help_text="Items skipped before this page.")


def page_of(item: serializers.Serializer | type, name: str) -> type[PageSerializer]:
    """The schema of a page of `item`: `{items: [item], total, limit, offset}` named `name`."""
    items = item(many=True) if isinstance(item, type) else item
    return type(name, (PageSerializer,), {"items": items, "__module__": __name__})


class RuleCheckedField(serializers.JSONField):
    """Any JSON value, passed on as it came: a service checks it, because its rules are shared with
    another entry point (the agent's tools) and must not be written twice. `schema` documents those
    rules in the OpenAPI schema (core.openapi)."""

    def __init__(self, *, schema: dict, **kwargs):
        self.schema = schema
        super().__init__(**kwargs)
