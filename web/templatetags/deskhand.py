from django import template

register = template.Library()

# A status as a person reads it, for the server-rendered badges and (through base.html) the pages'
# scripts alike. `pausing` and `resuming` are shown between a person's request and the execution's
# next safe point.
STATUS_WORDS = {
    "queued": "Queued",
    "running": "Running",
    "waiting_confirmation": "Waiting for you",
    "stopping": "Stopping…",
    "paused": "Paused",
    "pausing": "Pausing…",
    "resuming": "Resuming…",
    "succeeded": "Succeeded",
    "failed": "Failed",
    "stopped": "Stopped",
    "interrupted": "Interrupted",
    "idle": "Ready",
    "executing": "Working",
    "closed": "Closed",
    "ok": "OK",
    "degraded": "Degraded",
    "down": "Down",
    "not_configured": "Not configured",
}


@register.filter
def words(value) -> str:
    """`waiting_confirmation` -> `Waiting for you`; an unknown one `some_state` -> `Some state`."""
    text = str(value or "")
    if text in STATUS_WORDS:
        return STATUS_WORDS[text]
    text = text.replace("_", " ").replace("-", " ")
    return text[:1].upper() + text[1:]


@register.simple_tag
def status_words() -> dict:
    return STATUS_WORDS
