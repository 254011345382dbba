"""Query parameters shared by every list of the API."""

from core.errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def int_param(params, name: str, *, default: int, low: int, high: int | None = None) -> int:
    """A whole-number query parameter within bounds; anything else is a 400 naming it."""
    raw = params.get(name)
    if raw in (None, ""):
        return default
    if not raw.isdigit() or int(raw) < low or (high is not None and int(raw) > high):
        bound = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise InvalidInput(name, f"must be a whole number {bound}")
    return int(raw)


def page_params(params) -> tuple[int, int]:
    """`limit` (1–200, default 50) and `offset` of a list request."""
    return (
        int_param(params, "limit", default=DEFAULT_LIMIT, low=1, high=MAX_LIMIT),
        int_param(params, "offset", default=0, low=0),
    )
