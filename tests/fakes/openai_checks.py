"""What the real Responses API refuses, answered as it answers: the checks behind the fake model server.

Each check raises `Refusal` with the HTTP status and the error body the real service sends:
`{"error": {"message", "type": "invalid_request_error", "param", "code"}}`. The messages are the
real ones where they are known from public bug reports; where no report quotes the real wording
(marked "fake's wording" below), the message still names the item and the problem.

Known from reports (400 unless said otherwise):
- a call without its output: "No tool output found for function call <id>." / "... computer call <id>."
- an output without an earlier call: "No tool call found for function call output with call_id <id>."
- a pending safety check not acknowledged: "Computer tool has unacknowledged safety check for ['<id>']"
- an item id under `store: false` (nothing was stored, so the id is a dangling reference): **404**
  "Item with id '<id>' not found. Items are not persisted when `store` is set to false. ..."
- `previous_response_id` of a response that was not stored: "Previous response with id '<id>' not found."
- a strict JSON schema whose objects lack `additionalProperties: false` or list fewer `required`
  keys than properties: "Invalid schema for response_format '<name>': In context=(), ..."
- a function tool whose parameters are not an object schema (the Codex backend is reported strict here).
- validation errors: "Invalid value: 'x'. Supported values are: ...", "Missing required parameter: 'p'.",
  "Unknown parameter: 'p'.", "Invalid 'p'. Expected a valid URL ..." with `param` the JSON path.

The fake's wording (the real service refuses, no report quotes it): two outputs for one call id,
acknowledging a safety check that is not pending, image bytes that are not an image.
"""

from __future__ import annotations

import base64
import binascii
import re
import typing

from openai.types.responses.response_create_params import ResponseCreateParamsBase
from openai.types.responses.response_includable import ResponseIncludable

# The request body's parameters, as the SDK (generated from the API's spec) declares them.
KNOWN_PARAMETERS = frozenset(ResponseCreateParamsBase.__annotations__) | {"stream"}
INCLUDABLE = typing.get_args(ResponseIncludable)

CALL_OUTPUTS = {  # output item type -> (call item type, the words the real messages use)
    "function_call_output": ("function_call", "function call"),
    "computer_call_output": ("computer_call", "computer call"),
    "custom_tool_call_output": ("custom_tool_call", "custom tool call"),
}
CALL_WORDS = {call: words for call, words in CALL_OUTPUTS.values()}
ITEM_TYPES = (
    "message",
    "reasoning",
    "computer_call",
    "computer_call_output",
    "function_call",
    "function_call_output",
    "custom_tool_call",
    "custom_tool_call_output",
    "item_reference",
    "web_search_call",
    "file_search_call",
    "image_generation_call",
    "code_interpreter_call",
    "local_shell_call",
    "local_shell_call_output",
    "shell_call",
    "shell_call_output",
    "apply_patch_call",
    "apply_patch_call_output",
    "mcp_list_tools",
    "mcp_approval_request",
    "mcp_approval_response",
    "mcp_call",
)
INPUT_PARTS = ("input_text", "input_image", "input_file")
ASSISTANT_PARTS = ("output_text", "refusal")
IMAGE_DETAILS = ("low", "high", "auto", "original")
IMAGE_MIME = ("image/png", "image/jpeg", "image/gif", "image/webp")
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"RIFF")
_DATA_URL = re.compile(r"^data:([^;,]*)(;base64)?,(.*)$", re.S)


class Refusal(Exception):
    """A request the real service refuses: the HTTP status and the body it answers with."""

    def __init__(self, status: int, body: dict):
        super().__init__(str(body))
        self.status = status
        self.body = body


def invalid(message: str, *, param: str | None = None, code: str | None = None, status: int = 400) -> Refusal:
    return Refusal(
        status, {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}
    )


def _supported(values) -> str:
    quoted = [f"'{v}'" for v in values]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + f", and {quoted[-1]}"


def _one_of(value, allowed, param: str) -> None:
    if value not in allowed:
        raise invalid(
            f"Invalid value: '{value}'. Supported values are: {_supported(allowed)}.", param=param, code="invalid_value"
        )


def _required(item: dict, key: str, param: str, *, empty_ok: bool = False) -> None:
    value = item.get(key)
    if value is None or (value == "" and not empty_ok):
        raise invalid(
            f"Missing required parameter: '{param}.{key}'.", param=f"{param}.{key}", code="missing_required_parameter"
        )


def check_request(body: dict, *, prior: list[dict], stored_ids: set[str]) -> None:
    """Refuse what the real service refuses. `prior`: the stored conversation `previous_response_id`
    continues (empty without it); `stored_ids`: ids of items the service stored (store true)."""
    for key in body:
        if key not in KNOWN_PARAMETERS:
            raise invalid(f"Unknown parameter: '{key}'.", param=key, code="unknown_parameter")
    if not body.get("model"):
        raise invalid("Missing required parameter: 'model'.", param="model", code="missing_required_parameter")
    for index, value in enumerate(body.get("include") or []):
        _one_of(value, INCLUDABLE, f"include[{index}]")
    if "truncation" in body:
        _one_of(body["truncation"], ("auto", "disabled"), "truncation")
    _check_tools(body.get("tools") or [])
    _check_text_format((body.get("text") or {}).get("format"))
    items = body.get("input")
    if items is None or isinstance(items, str):
        items = []
    if not isinstance(items, list):
        raise invalid(
            "Invalid type for 'input': expected one of a string or array of input items.",
            param="input",
            code="invalid_type",
        )
    for index, item in enumerate(items):
        _check_item(item, f"input[{index}]")
    _check_ids(items, stored=body.get("store", True) is not False, stored_ids=stored_ids)
    _check_calls(prior + items)


# -- items --
def _check_item(item, param: str) -> None:
    if not isinstance(item, dict):
        raise invalid(f"Invalid type for '{param}': expected an object.", param=param, code="invalid_type")
    kind = item.get("type", "message")  # a message may leave out its type (EasyInputMessage)
    _one_of(kind, ITEM_TYPES, f"{param}.type")
    if kind == "message":
        _check_message(item, param)
    elif kind == "reasoning":
        _required(item, "summary", param)
    elif kind == "computer_call":
        _required(item, "call_id", param)
        _required(item, "pending_safety_checks", param)
    elif kind == "function_call":
        _required(item, "call_id", param)
        _required(item, "name", param)
        _required(item, "arguments", param, empty_ok=True)
    elif kind == "computer_call_output":
        _required(item, "call_id", param)
        output = item.get("output")
        if not isinstance(output, dict):
            raise invalid(
                f"Invalid type for '{param}.output': expected an object.", param=f"{param}.output", code="invalid_type"
            )
        _one_of(output.get("type"), ("computer_screenshot",), f"{param}.output.type")
        _check_image(output, f"{param}.output")
        for n, check in enumerate(item.get("acknowledged_safety_checks") or []):
            if not isinstance(check, dict):
                raise invalid(
                    f"Invalid type for '{param}.acknowledged_safety_checks[{n}]': expected an object.",
                    param=f"{param}.acknowledged_safety_checks[{n}]",
                    code="invalid_type",
                )
            _required(check, "id", f"{param}.acknowledged_safety_checks[{n}]")
    elif kind == "function_call_output":
        _required(item, "call_id", param)
        output = item.get("output")
        if isinstance(output, list):
            _check_parts(output, INPUT_PARTS, f"{param}.output")
        elif not isinstance(output, str):
            raise invalid(
                f"Invalid type for '{param}.output': expected one of a string or array of content parts.",
                param=f"{param}.output",
                code="invalid_type",
            )


def _check_message(item: dict, param: str) -> None:
    role = item.get("role")
    _one_of(role, ("user", "assistant", "system", "developer"), f"{param}.role")
    content = item.get("content")
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise invalid(
            f"Invalid type for '{param}.content': expected one of a string or array of content parts.",
            param=f"{param}.content",
            code="invalid_type",
        )
    _check_parts(content, ASSISTANT_PARTS if role == "assistant" else INPUT_PARTS, f"{param}.content")


def _check_parts(parts: list, allowed: tuple, param: str) -> None:
    for index, part in enumerate(parts):
        where = f"{param}[{index}]"
        if not isinstance(part, dict):
            raise invalid(f"Invalid type for '{where}': expected an object.", param=where, code="invalid_type")
        _one_of(part.get("type"), allowed, f"{where}.type")
        if part["type"] in ("input_text", "output_text") and not isinstance(part.get("text"), str):
            _required(part, "text", where)
        if part["type"] == "input_image":
            _check_image(part, where)


def _check_image(image: dict, param: str) -> None:
    if "detail" in image:
        _one_of(image["detail"], IMAGE_DETAILS, f"{param}.detail")
    url, file_id = image.get("image_url"), image.get("file_id")
    if url is None and file_id is None:
        raise invalid(
            f"Missing required parameter: '{param}.image_url'. Provide an image URL or a file id.",
            param=f"{param}.image_url",
            code="missing_required_parameter",
        )
    if url is None:
        return
    where = f"{param}.image_url"
    if not isinstance(url, str):
        raise invalid(f"Invalid type for '{where}': expected a string.", param=where, code="invalid_type")
    if re.match(r"^https?://[^\s/]+\S*$", url):
        return  # the real service downloads it; the fake does not
    match = _DATA_URL.match(url)
    if not match:
        raise invalid(
            f"Invalid '{where}'. Expected a valid URL, but got a value with an invalid format.",
            param=where,
            code="invalid_value",
        )
    mime, is_base64, data = match.groups()
    if mime not in IMAGE_MIME or not is_base64:
        raise invalid(
            f"Invalid '{where}'. Expected a base64-encoded data URL with an image MIME type (e.g. "
            f"'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU='), but got unsupported MIME type '{mime}'.",
            param=where,
            code="invalid_value",
        )
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not raw.startswith(_IMAGE_MAGIC):  # fake's wording
        raise invalid(
            f"Invalid '{where}'. The image data you provided does not represent a valid image. Supported "
            f"formats: {_supported(IMAGE_MIME)}.",
            param=where,
            code="invalid_image_format",
        )


def _check_ids(items: list[dict], *, stored: bool, stored_ids: set[str]) -> None:
    """With `store: false` nothing is stored, so an item id refers to nothing (404, as the real API)."""
    for item in items:
        item_id = item.get("id")
        if item_id is None:
            continue
        if stored and item_id in stored_ids:
            continue
        hint = (
            " Items are not persisted when `store` is set to false. Try again with `store` set to true, "
            "or remove this item from your input."
            if not stored
            else ""
        )
        raise invalid(f"Item with id '{item_id}' not found.{hint}", param="input", status=404)


def _check_calls(conversation: list[dict]) -> None:
    """Every call has exactly one output, after it; a computer call's output acknowledges its pending checks."""
    calls: dict[str, dict] = {}
    answered: set[str] = set()
    for item in conversation:
        kind = item.get("type")
        if kind in CALL_WORDS:
            calls[item.get("call_id")] = item
        elif kind in CALL_OUTPUTS:
            call_type, words = CALL_OUTPUTS[kind]
            call_id = item.get("call_id")
            call = calls.get(call_id)
            if call is None or call.get("type") != call_type:
                raise invalid(f"No tool call found for {words} output with call_id {call_id}.", param="input")
            if call_id in answered:  # fake's wording
                raise invalid(
                    f"Duplicate output for {words} {call_id}: each call takes exactly one output.", param="input"
                )
            answered.add(call_id)
            if kind == "computer_call_output":
                _check_safety_checks(call, item)
    for call_id, call in calls.items():
        if call_id not in answered:
            raise invalid(f"No tool output found for {CALL_WORDS[call['type']]} {call_id}.", param="input")


def _check_safety_checks(call: dict, output: dict) -> None:
    pending = [c.get("id") for c in call.get("pending_safety_checks") or []]
    acknowledged = [c.get("id") for c in output.get("acknowledged_safety_checks") or []]
    missing = [i for i in pending if i not in acknowledged]
    if missing:
        raise invalid(f"Computer tool has unacknowledged safety check for {missing!r}", param="input")
    extra = [i for i in acknowledged if i not in pending]
    if extra:  # fake's wording
        raise invalid(
            f"Acknowledged safety check {extra!r} is not pending on computer call {call.get('call_id')}.",
            param="input",
        )


# -- tools and structured output --
def _check_tools(tools: list) -> None:
    for index, tool in enumerate(tools):
        param = f"tools[{index}]"
        if tool.get("type") == "computer_use_preview":
            for key in ("display_width", "display_height", "environment"):
                _required(tool, key, param)
        if tool.get("type") != "function":
            continue
        _required(tool, "name", param)
        parameters = tool.get("parameters")
        if parameters is not None:
            if parameters.get("type") != "object":
                raise invalid(
                    f"Invalid schema for function '{tool['name']}': schema must be a JSON Schema of "
                    f"'type: \"object\"', got 'type: \"{parameters.get('type')}\"'.",
                    param=f"{param}.parameters",
                    code="invalid_function_parameters",
                )
            if tool.get("strict"):
                _check_strict_schema(parameters, f"function '{tool['name']}'", f"{param}.parameters")


def _check_text_format(fmt) -> None:
    if not fmt or fmt.get("type") != "json_schema":
        return
    name = fmt.get("name")
    if not name or not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", str(name)):
        raise invalid(
            f"Invalid 'text.format.name': string does not match pattern. Expected a string that matches the "
            f"pattern '^[a-zA-Z0-9_-]+$', got '{name}'.",
            param="text.format.name",
            code="invalid_value",
        )
    if fmt.get("strict"):
        _check_strict_schema(fmt.get("schema") or {}, f"response_format '{name}'", "text.format.schema")


def _check_strict_schema(schema: dict, what: str, param: str, context: tuple = ()) -> None:
    """Strict mode: every object closes its properties and requires all of them."""
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "object" or "properties" in schema:
        if schema.get("additionalProperties") is not False:
            raise invalid(
                f"Invalid schema for {what}: In context={context}, 'additionalProperties' is required to be "
                "supplied and to be false.",
                param=param,
                code="invalid_json_schema",
            )
        properties = schema.get("properties") or {}
        missing = [key for key in properties if key not in (schema.get("required") or [])]
        if missing:
            raise invalid(
                f"Invalid schema for {what}: In context={context}, 'required' is required to be supplied and to "
                f"be an array including every key in properties. Missing '{missing[0]}'.",
                param=param,
                code="invalid_json_schema",
            )
        for key, sub in properties.items():
            _check_strict_schema(sub, what, param, (*context, "properties", key))
    if "items" in schema:
        _check_strict_schema(schema["items"], what, param, (*context, "items"))
    for keyword in ("anyOf", "allOf"):
        for n, sub in enumerate(schema.get(keyword) or []):
            _check_strict_schema(sub, what, param, (*context, keyword, str(n)))
