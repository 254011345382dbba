from django import template

register = template.Library()


@register.filter
def words(value) -> str:
    """`waiting_confirmation` -> `Waiting confirmation`: a status as a person reads it."""
    text = str(value or "").replace("_", " ").replace("-", " ")
    return text[:1].upper() + text[1:]
