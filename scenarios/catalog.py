"""The scenario catalog: one YAML file per scenario in `DESKHAND_SCENARIOS_DIR`.

A file that does not parse or does not match the schema below is reported (in the listing and in
health) and left out; it never takes the rest of the catalog down.
"""

import functools
import logging
import re
import string
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import yaml
from django.conf import settings

from agent.secrets import MASK, placeholder

logger = logging.getLogger("deskhand.scenarios")

ROUTES = ("auto", "desktop", "cli", "planner")

# The shape of a scenario file (documented in README, "Scenarios").
# What a scenario (or one run of it) may set as its limits, and the bounds of each.
LIMIT_RANGES = {
    "maxTurns": (1, 200),  # model turns of the agent
    "timeoutSeconds": (5, 86400),  # active time (a pause does not count)
    "maxTokens": (1000, 100_000_000),  # input + output tokens of every model call together
}

SCENARIO_SCHEMA = {
    "type": "object",
    "required": ["id", "title", "instruction"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9-]{0,63}$"},
        "title": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "route": {"enum": list(ROUTES)},
        "autopilot": {"type": "boolean"},
        "instruction": {"type": "string", "minLength": 1},
        "input": {"type": "object"},
        "limits": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                name: {"type": "integer", "minimum": low, "maximum": high} for name, (low, high) in LIMIT_RANGES.items()
            },
        },
        "checks": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "minProperties": 1,
                "maxProperties": 1,
                "properties": {"windowTitle": {"type": "string"}, "textInWindow": {"type": "string"}},
            },
        },
    },
}


class ScenarioError(ValueError):
    """A scenario file that parses and matches the schema but still makes no sense."""


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    instruction: str
    description: str = ""
    route: str = "auto"
    input_schema: dict = field(default_factory=lambda: {"type": "object", "properties": {}})
    max_turns: int = 30
    timeout_seconds: int = 600
    max_tokens: int | None = None
    checks: tuple = ()
    source: str = ""
    # Runs of it replay the newest recording that fits unless asked otherwise (mode "auto").
    autopilot: bool = False

    @property
    def secret_inputs(self) -> tuple[str, ...]:
        """Inputs marked `writeOnly: true` or `format: password`: typed by the agent for real, but
        never shown to the model, stored, streamed or logged (see agent.secrets)."""
        return tuple(
            name
            for name, spec in self.input_schema.get("properties", {}).items()
            if isinstance(spec, dict) and (spec.get("writeOnly") is True or spec.get("format") == "password")
        )

    def secret_values(self, values: dict) -> dict[str, str]:
        """The secret inputs `values` gives, as text, by name."""
        return {name: str(values[name]) for name in self.secret_inputs if values.get(name) not in (None, "")}

    def masked(self, values: dict) -> dict:
        """`values` as it may be kept and shown: each secret given is `***`."""
        secrets = self.secret_values(values)
        return {name: MASK if name in secrets else value for name, value in values.items()}

    def with_defaults(self, values: dict) -> dict:
        """The input with the schema's `default`s filled in for absent properties."""
        defaults = {
            name: spec["default"]
            for name, spec in self.input_schema.get("properties", {}).items()
            if isinstance(spec, dict) and "default" in spec
        }
        return {**defaults, **values}

    def render_instruction(self, values: dict) -> str:
        """The instruction with `${name}` placeholders filled from the (validated) input; a secret
        input becomes the placeholder the engine types it for (`<secret:name>`), never its value."""
        filled = {k: str(v) for k, v in self.with_defaults(values).items()}
        filled.update({name: placeholder(name) for name in self.secret_inputs})
        return string.Template(self.instruction).safe_substitute(filled)

    def render_checks(self, values: dict) -> list[dict]:
        """The success checks with `${name}` placeholders filled like the instruction's."""
        filled = {k: str(v) for k, v in self.with_defaults(values).items()}
        return [
            {kind: string.Template(str(value)).safe_substitute(filled) for kind, value in check.items()}
            for check in self.checks
        ]

    @property
    def limits(self) -> dict:
        limits = {"maxTurns": self.max_turns, "timeoutSeconds": self.timeout_seconds}
        return {**limits, "maxTokens": self.max_tokens} if self.max_tokens else limits

    def as_dict(self) -> dict:
        """The scenario as the API shows it (and as a run keeps a copy of it)."""
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "route": self.route,
            "instruction": self.instruction,
            "inputSchema": self.input_schema,
            "limits": self.limits,
            "checks": list(self.checks),
            "autopilot": self.autopilot,
            "file": self.source,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Scenario":
        """The inverse of `as_dict`: a run's stored copy back into a Scenario."""
        limits = data.get("limits") or {}
        return cls(
            id=data["id"],
            title=data.get("title", data["id"]),
            instruction=data.get("instruction", ""),
            description=data.get("description", ""),
            route=data.get("route", "auto"),
            input_schema=data.get("inputSchema") or {"type": "object", "properties": {}},
            max_turns=limits.get("maxTurns", 30),
            timeout_seconds=limits.get("timeoutSeconds", 600),
            max_tokens=limits.get("maxTokens"),
            checks=tuple(data.get("checks") or ()),
            source=data.get("file", ""),
            autopilot=bool(data.get("autopilot", False)),
        )

    def validate_input(self, values: dict) -> list[tuple[str, str]]:
        """Problems with `values` as (field path, message) pairs; empty when valid."""
        validator = jsonschema.Draft202012Validator(self.input_schema)
        # jsonschema quotes the offending value in its messages ("'hunter2' is too short").
        secrets = [repr(values[name]) for name in self.secret_inputs if isinstance(values, dict) and name in values]
        problems = []
        for error in sorted(validator.iter_errors(values), key=lambda e: list(e.absolute_path)):
            path = ".".join(str(p) for p in error.absolute_path)
            if error.validator == "required":
                missing = re.search(r"'([^']+)' is a required property", error.message)
                path = ".".join(filter(None, [path, missing.group(1) if missing else ""]))
            message = error.message
            for secret in secrets:
                message = message.replace(secret, MASK)
            problems.append((path, message))
        return problems


@dataclass(frozen=True)
class Catalog:
    scenarios: dict[str, Scenario]
    errors: list[dict]


def _parse(path: Path) -> Scenario:
    """A scenario file, parsed again only when it changed (the catalog is read on every request)."""
    stat = path.stat()
    return _parse_version(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=512)
def _parse_version(path: Path, mtime_ns: int, size: int) -> Scenario:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    jsonschema.validate(raw, SCENARIO_SCHEMA)
    input_schema = raw.get("input") or {"type": "object", "properties": {}}
    jsonschema.Draft202012Validator.check_schema(input_schema)
    limits = raw.get("limits") or {}
    scenario = Scenario(
        id=raw["id"],
        title=raw["title"],
        instruction=raw["instruction"],
        description=raw.get("description", ""),
        route=raw.get("route", "auto"),
        input_schema=input_schema,
        max_turns=limits.get("maxTurns", 30),
        timeout_seconds=limits.get("timeoutSeconds", 600),
        max_tokens=limits.get("maxTokens"),
        checks=tuple(raw.get("checks") or ()),
        source=path.name,
        autopilot=bool(raw.get("autopilot", False)),
    )
    for name in scenario.secret_inputs:
        named = re.compile(r"\$(\{" + re.escape(name) + r"\}|" + re.escape(name) + r"\b)")
        if any(named.search(str(value)) for check in scenario.checks for value in check.values()):
            raise ScenarioError(f"checks: a check cannot name the secret input {name!r} (its value is never kept)")
    return scenario


def load_catalog(directory: Path | None = None) -> Catalog:
    directory = Path(directory or settings.SCENARIOS_DIR)
    scenarios: dict[str, Scenario] = {}
    errors: list[dict] = []
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        try:
            scenario = _parse(path)
        except (OSError, yaml.YAMLError, jsonschema.ValidationError, jsonschema.SchemaError, ScenarioError) as exc:
            message = getattr(exc, "message", None) or str(exc)
            if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
                message = f"invalid YAML: {exc.problem} (line {exc.problem_mark.line + 1})"
            elif isinstance(exc, jsonschema.ValidationError) and exc.absolute_path:
                message = f"{'.'.join(str(p) for p in exc.absolute_path)}: {message}"
            errors.append({"file": path.name, "error": message.splitlines()[0][:300]})
            logger.warning("Scenario file %s is broken: %s", path.name, message.splitlines()[0])
            continue
        if scenario.id in scenarios:
            errors.append(
                {"file": path.name, "error": f"duplicate id {scenario.id!r} (also in {scenarios[scenario.id].source})"}
            )
            continue
        scenarios[scenario.id] = scenario
    return Catalog(scenarios=scenarios, errors=errors)


def scenario_get(*, scenario_id: str) -> Scenario | None:
    return load_catalog().scenarios.get(scenario_id)


def catalog_summary() -> dict:
    catalog = load_catalog()
    return {"count": len(catalog.scenarios), "errors": catalog.errors, "directory": str(settings.SCENARIOS_DIR)}
