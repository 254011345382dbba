"""What the agent remembers: global entries and per-app profiles."""

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class AppProfile(models.Model):
    name = models.CharField(max_length=200)
    aliases = models.JSONField(default=list, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="app_profile_unique_name_ci")]

    def __str__(self) -> str:
        return self.name


class MemoryEntry(models.Model):
    class Category(models.TextChoices):
        PREFERENCE = "preference"
        FACT = "fact"
        PROCEDURE = "procedure"
        WARNING = "warning"
        # The two below are what the agent's `remember` tool offers besides the others.
        APP_BEHAVIOR = "app_behavior", "App behaviour"
        LOCATION = "location"
        CONTACT = "contact"
        OTHER = "other"

    class Source(models.TextChoices):
        PERSON = "person"
        AGENT = "agent"

    content = models.TextField()
    # sha256 of the normalized content: how a duplicate (same content, same app) is found.
    content_key = models.CharField(max_length=64, editable=False, default="")
    category = models.CharField(max_length=20, choices=Category.choices)
    app = models.ForeignKey(AppProfile, null=True, blank=True, on_delete=models.CASCADE, related_name="entries")
    tags = models.JSONField(default=list, blank=True)
    confidence = models.FloatField(default=1.0)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.PERSON)
    # The run or live session an agent-written entry came from.
    source_owner_id = models.CharField(max_length=40, blank=True)
    use_count = models.PositiveIntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "memory entries"
        indexes = [
            models.Index(fields=["app", "category"], name="memory_app_category"),
            models.Index(fields=["content_key", "app"], name="memory_duplicate_lookup"),
        ]

    def __str__(self) -> str:
        return self.content[:60]
