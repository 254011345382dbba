"""Each defence of the API has a test here that fails when the defence is removed."""

import hmac
import json
import logging
import os
import stat
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from events.models import Event

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.urls"), pytest.mark.portable]

APPEND = "/api/test/append"


def post_json(client, body=None, **headers):
    return client.post(APPEND, data=json.dumps(body or {"text": "hi"}), content_type="application/json", **headers)


def test_it_refuses_an_api_call_without_a_token(anonymous):
    response = anonymous.get("/api/system/health")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_refuses_a_wrong_token_and_changes_nothing(anonymous):
    anonymous.credentials(HTTP_AUTHORIZATION="Bearer not-the-token")
    assert post_json(anonymous).status_code == 401
    assert not Event.objects.exists()


def test_it_accepts_the_token_and_writes(api):
    response = post_json(api)
    assert response.status_code == 201
    assert Event.objects.count() == 1


def test_it_guards_streams_and_screenshots_too(anonymous):
    assert anonymous.get("/api/screenshots/img_x").status_code == 401
    assert anonymous.get("/api/schema/").status_code == 401


def test_it_compares_the_token_in_constant_time(api, monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert api.get("/api/system/health").status_code == 200
    assert calls, "the token must be compared with hmac.compare_digest"


def test_it_answers_400_to_a_foreign_host_and_changes_nothing(api):
    response = post_json(api, HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_host"
    assert not Event.objects.exists()


def test_it_refuses_a_post_from_a_foreign_origin(api):
    response = post_json(api, HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403
    assert response.json()["code"] == "cross_site"
    assert not Event.objects.exists()


def test_it_accepts_a_post_from_its_own_origin(api):
    assert post_json(api, HTTP_ORIGIN="http://127.0.0.1").status_code == 201


def test_it_refuses_a_request_the_browser_marks_cross_site(api):
    assert post_json(api, HTTP_SEC_FETCH_SITE="cross-site").status_code == 403
    assert api.get("/api/system/health", HTTP_SEC_FETCH_SITE="cross-site").status_code == 403
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "content_type, body",
    [("text/plain", "{}"), ("application/x-www-form-urlencoded", "a=b"), ("multipart/form-data; boundary=x", "--x--")],
)
def test_it_answers_415_to_a_body_that_is_not_json(api, content_type, body):
    response = api.post(APPEND, data=body, content_type=content_type)
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert not Event.objects.exists()


def test_it_answers_413_to_a_body_over_the_limit(api):
    response = post_json(api, {"text": "x" * (settings.MAX_BODY_BYTES + 10)})
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"
    assert not Event.objects.exists()


def test_it_answers_400_to_malformed_json(api):
    response = api.post(APPEND, data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"


def test_it_never_answers_a_preflight_with_cors_headers(api):
    response = api.options(APPEND, HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert "Access-Control-Allow-Origin" not in response


def test_a_signed_in_session_can_read_but_must_send_the_csrf_token_to_write():
    user = get_user_model().objects.create(username="deskhand", is_staff=True)
    browser = APIClient(SERVER_NAME="127.0.0.1", enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.get("/api/system/health").status_code == 200
    response = post_json(browser)
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert not Event.objects.exists()


def test_a_signed_in_non_staff_user_gets_nothing():
    user = get_user_model().objects.create(username="visitor")
    browser = APIClient(SERVER_NAME="127.0.0.1")
    browser.force_login(user)
    assert browser.get("/api/system/health").status_code == 401


def test_the_generated_token_file_is_private():
    path = settings.DATA_DIR / "secret-key"  # generated at start-up like the API token when not set
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_an_error_body_never_carries_a_secret(api):
    response = api.get("/api/test/fail", {"secret": settings.API_TOKEN})
    assert response.status_code == 400
    assert settings.API_TOKEN not in response.content.decode()
    assert "***" in response.json()["message"]


def test_a_log_line_never_carries_a_secret(caplog):
    logger = logging.getLogger("deskhand.test")
    with caplog.at_level(logging.INFO):
        logger.info("calling with key %s and bearer %s", settings.OPENAI_API_KEY, f"Bearer {settings.API_TOKEN}")
    handler = next(h for h in logging.getLogger().handlers if h.__class__.__name__ == "ProcessFileHandler")
    handler.flush()
    written = Path(handler.baseFilename).read_text(encoding="utf-8")
    assert settings.OPENAI_API_KEY not in written and settings.API_TOKEN not in written
    assert "calling with key ***" in written


def test_unknown_api_paths_answer_json_404(api):
    response = api.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_wrong_method_answers_json_405(api):
    response = api.delete("/api/system/health")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
