"""The durable event log shared by runs and live sessions, and the screenshots events refer to.

An owner is a run or a live session, named by its id (`run_…` / `ses_…`, unique across both), so
one table and one stream mechanism serve both kinds.
"""

from django.db import models
from django.utils import timezone


class Event(models.Model):
    owner_id = models.CharField(max_length=40)
    # Position within the owner, from 1; the SSE `id:` and the `Last-Event-ID` a client resumes from.
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=40)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["owner_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["owner_id", "seq"], name="event_unique_seq_per_owner")]

    def __str__(self) -> str:
        return f"{self.owner_id}#{self.seq} {self.type}"


def screenshot_path(instance, filename: str) -> str:
    return f"screenshots/{instance.owner_id}/{filename}"


class Screenshot(models.Model):
    """An image an event refers to by id; events never carry the bytes themselves."""

    id = models.CharField(primary_key=True, max_length=40)
    owner_id = models.CharField(max_length=40, db_index=True)
    file = models.FileField(upload_to=screenshot_path)
    mime = models.CharField(max_length=40)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.id
