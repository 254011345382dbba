"""Query parameters: one rule for every endpoint (given once, in its range or set, else a 400
naming it), and the `limit`/`offset` every list takes."""

import re

from core.errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# Far beyond any real list, and small enough for every database's integer types: a larger offset
# is a client's mistake to report (400), not a number to hand to SQL.
MAX_OFFSET = 10_000_000

# ASCII digits only: str.isdigit() also accepts "²" or "٣", which int() then refuses.
_DIGITS = re.compile(r"[0-9]{1,19}")


def query_param(params, name: str) -> str | None:
    """One query parameter as sent, None when absent. Sent twice is a 400: which one would count?"""
    values = params.getlist(name) if hasattr(params, "getlist") else ([params[name]] if name in params else [])
    if len(values) > 1:
        raise InvalidInput(name, "must be given once")
    return values[0] if values else None


def choice_param(params, name: str, choices) -> str | None:
    """A query parameter that must be one of `choices` (an empty value is not one of them), None when absent."""
    value = query_param(params, name)
    if value is not None and value not in choices:
        raise InvalidInput(name, f"must be one of: {', '.join(choices)}")
    return value


def whole_number(raw: str | None, name: str, *, default: int, low: int, high: int) -> int:
    """A whole number from a query parameter or header, within bounds; anything else (an empty
    value too) is a 400 naming it. Absent (None): `default`."""
    if raw is None:
        return default
    if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        raise InvalidInput(name, f"must be a whole number from {low} to {high}")
    return int(raw)


def page_params(params) -> tuple[int, int]:
    """`limit` (1-200, default 50) and `offset` (0-10,000,000, default 0) of a list request."""
    return (
        whole_number(query_param(params, "limit"), "limit", default=DEFAULT_LIMIT, low=1, high=MAX_LIMIT),
        whole_number(query_param(params, "offset"), "offset", default=0, low=0, high=MAX_OFFSET),
    )


def page(items: list, *, total: int, limit: int, offset: int) -> dict:
    """The one answer of every list: `{items, total, limit, offset}`."""
    return {"items": items, "total": total, "limit": limit, "offset": offset}
