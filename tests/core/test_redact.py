"""Every secret the configuration can hold is masked, whatever its shape."""

import pytest
from django.conf import settings
from django.test import override_settings

from core.redact import redact


@pytest.mark.parametrize(
    "text, secret",
    [
        ("could not connect: postgres://deskhand:pg-Pass-42@db.internal:5432/deskhand", "pg-Pass-42"),
        ("broker redis://:s3cret@redis.internal:6379/0 refused", "s3cret"),
        ("proxy http://alice:pw@proxy:3128 answered 407", "pw"),
    ],
)
def test_credentials_inside_any_url_are_masked(text, secret):
    masked = redact(text)
    assert secret not in masked
    assert "://" in masked and "***@" in masked


@override_settings(
    CELERY_BROKER_URL="redis://:broker-password-1@redis.internal:6379/0",
    REDIS_URL="redis://:channel-password-2@redis.internal:6379/1",
    HTTPS_PROXY="http://me:proxy-password-3@proxy.internal:3128",
)
def test_passwords_of_the_configured_urls_are_masked_even_on_their_own():
    text = "auth failed with broker-password-1, channel-password-2 and proxy-password-3"
    assert redact(text) == "auth failed with ***, *** and ***"


def test_the_database_password_is_masked_on_its_own(monkeypatch):
    monkeypatch.setitem(settings.DATABASES["default"], "PASSWORD", "db-pass-0042")
    assert redact("psql said db-pass-0042") == "psql said ***"
