"""The API's one body parser: JSON, bounded in nesting.

Python's JSON decoder recurses once per level: a body nested 10,000 deep raised RecursionError
(a 500), and one just under the interpreter's limit would raise it later, in whatever code walks
the data next (validation, masking, storage). No request of this API needs more than a few levels.
"""

from rest_framework import parsers

from core.errors import InvalidInput

MAX_JSON_DEPTH = 32


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


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise _too_deep() from None
        if isinstance(data, (dict, list)) and json_depth_exceeds(data, MAX_JSON_DEPTH):
            raise _too_deep()
        return data
