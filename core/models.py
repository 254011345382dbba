"""The few rows the shared pieces keep."""

from django.db import models
from django.utils import timezone


class SignInFailure(models.Model):
    """One wrong API token or page sign-in, by client address; rows older than the window go.

    In the database, not a per-process cache, so every web process (and both modes: SQLite and
    PostgreSQL) counts the same failures.
    """

    client = models.CharField(max_length=64)
    failed_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["client", "-failed_at"], name="signin_failure_client")]

    def __str__(self) -> str:
        return f"{self.client} {self.failed_at:%Y-%m-%d %H:%M:%S}"
