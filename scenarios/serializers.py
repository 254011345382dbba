"""The output shape of a scenario: `Scenario.as_dict()` (also the copy a run keeps), documented here."""

from rest_framework import serializers

from scenarios.catalog import Scenario


class ScenarioLimitsSerializer(serializers.Serializer):
    maxTurns = serializers.IntegerField(min_value=1, max_value=200)
    timeoutSeconds = serializers.IntegerField(min_value=5, max_value=86400)


# Renders through `Scenario.as_dict()`: a run stores that same dict, so the two cannot drift.
class ScenarioSerializer(serializers.Serializer):
    """A scenario: what a run executes, read from one YAML file of the scenarios folder."""

    id = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    route = serializers.ChoiceField(choices=["auto", "desktop", "cli", "planner"])
    instruction = serializers.CharField(help_text="A template: `${name}` is filled from the run's input.")
    inputSchema = serializers.DictField(help_text="A JSON Schema for the run's `input`.")
    limits = ScenarioLimitsSerializer()
    checks = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField()),
        help_text="Success checks: `{windowTitle: <regex>}` or `{textInWindow: <text>}`.",
    )
    autopilot = serializers.BooleanField(
        required=False,  # absent from the copies runs kept before autopilot existed
        help_text="Runs of it replay the newest recording that fits unless they ask otherwise "
        '(`mode` defaults to "auto" instead of "model").',
    )
    file = serializers.CharField(help_text="The file it was loaded from.")

    def to_representation(self, instance: Scenario) -> dict:
        return instance.as_dict()


class ScenarioErrorSerializer(serializers.Serializer):
    file = serializers.CharField()
    error = serializers.CharField(help_text="Why the file does not load; the rest of the catalog still works.")
