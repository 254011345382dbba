"""Reads only the pages need: the newest screenshot of each record on a history page."""

from django.db.models import Max, Q

from events.models import Event
from events.selectors import screenshot_url


def last_screenshot_urls(*, owner_ids: list[str]) -> dict[str, str]:
    """owner id -> URL of its newest screenshot, for those that have one. Two queries for a whole page."""
    if not owner_ids:
        return {}
    newest = (
        Event.objects.filter(owner_id__in=owner_ids, type="screenshot").values("owner_id").annotate(last_seq=Max("seq"))
    )
    wanted = Q()
    for row in newest:
        wanted |= Q(owner_id=row["owner_id"], seq=row["last_seq"])
    if not wanted:
        return {}
    urls = {}
    for owner_id, data in Event.objects.filter(wanted, type="screenshot").values_list("owner_id", "data"):
        if isinstance(data, dict) and data.get("ref"):
            urls[owner_id] = screenshot_url(data["ref"])
    return urls
