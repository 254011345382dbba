"""Query parameters shared by every list of the API, and the whole numbers they are made of."""

import re

from core.errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# Far beyond any real list, and small enough for every database's integer types: a larger offset
# is a client's mistake to report (400), not a number to hand to SQL.
MAX_OFFSET = 10_000_000

# ASCII digits only: str.isdigit() also accepts "²" or "٣", which int() then refuses.
_DIGITS = re.compile(r"[0-9]{1,19}")


def whole_number(raw: str | None, name: str, *, default: int, low: int, high: int) -> int:
    """A whole number from a query parameter or header, within bounds; anything else is a 400 naming it."""
    if raw is None or raw == "":
        return default
    if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        raise InvalidInput(name, f"must be a whole number from {low} to {high}")
    return int(raw)


def page_params(params) -> tuple[int, int]:
    """`limit` (1-200, default 50) and `offset` (0-10,000,000, default 0) of a list request."""
    return (
        whole_number(params.get("limit"), "limit", default=DEFAULT_LIMIT, low=1, high=MAX_LIMIT),
        whole_number(params.get("offset"), "offset", default=0, low=0, high=MAX_OFFSET),
    )


def page(items: list, *, total: int, limit: int, offset: int) -> dict:
    """The one answer of every list: `{items, total, limit, offset}`."""
    return {"items": items, "total": total, "limit": limit, "offset": offset}
