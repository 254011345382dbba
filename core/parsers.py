"""The API's one body parser: JSON, and only text every part of the server can store.

JSON may spell a NUL character (\\u0000) or half of a surrogate pair (\\ud800): Python reads both,
but PostgreSQL refuses NUL in text, and UTF-8 (every database, every log file) cannot encode a
lone surrogate, so such a value would fail deep inside a service as a 500. Refused here, once,
for every body and every field, as a 400.
"""

import re

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        where = _unstorable_at(data, "")
        if where is not None:
            raise ParseError(
                f"JSON parse error - {where or 'the body'} holds a NUL character or an unpaired surrogate, "
                "which cannot be stored."
            )
        return data


def _unstorable_at(value, path: str) -> str | None:
    """The path of the first string (key or value) that cannot be stored, None when all can."""
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
