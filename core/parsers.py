"""The API's one body parser: JSON, bounded in nesting, and only text every part of the server can store.

- Python's JSON decoder recurses once per level: a body nested 10,000 deep raised RecursionError
  (a 500), and one just under the interpreter's limit would raise it later, in whatever code walks
  the data next (validation, masking, storage). No request of this API needs more than a few levels.
- JSON may spell a NUL character (\\u0000) or half of a surrogate pair (\\ud800): Python reads both,
  but PostgreSQL refuses NUL in text, and UTF-8 (every database, every log file) cannot encode a
  lone surrogate, so such a value would fail deep inside a service as a 500.

Both are refused here, once, for every body and every field, as a 400.
"""

import re

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from core.errors import InvalidInput

MAX_JSON_DEPTH = 32
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class StrictJSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise _too_deep() from None
        if isinstance(data, (dict, list)) and json_depth_exceeds(data, MAX_JSON_DEPTH):
            raise _too_deep()
        where = _unstorable_at(data, "")
        if where is not None:
            raise ParseError(
                f"JSON parse error - {where or 'the body'} holds a NUL character or an unpaired surrogate, "
                "which cannot be stored."
            )
        return data


def json_depth_exceeds(value, limit: int) -> bool:
    """Whether objects and arrays in `value` nest deeper than `limit` (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _too_deep() -> InvalidInput:
    return InvalidInput("body", f"JSON nested deeper than {MAX_JSON_DEPTH} levels", details={"limit": MAX_JSON_DEPTH})


def _unstorable_at(value, path: str) -> str | None:
    """The path of the first string (key or value) that cannot be stored, None when all can.

    Called after the depth check, so its recursion is bounded."""
    if isinstance(value, str):
        return path if _UNSTORABLE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if _UNSTORABLE.search(key):
                return path or "a key"
            found = _unstorable_at(item, inner)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _unstorable_at(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None
