"""Failed sign-ins are throttled per client, on the API and on the sign-in page, across processes."""

import pytest
from django.conf import settings
from django.test import Client

from core.models import SignInFailure
from core.signin import WINDOW_SECONDS

# The default of DESKHAND_SIGNIN_FAILURES_PER_MINUTE, which the tests run with.
FAILURE_LIMIT = 10

pytestmark = pytest.mark.scaled

WRONG = "Bearer wrong-token-0123456789abcdef"


def fail_on_the_api(client, times: int) -> None:
    for _ in range(times):
        assert client.get("/api/runs", HTTP_AUTHORIZATION=WRONG).status_code == 401


def assert_throttled(response) -> None:
    assert response.status_code == 429
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= WINDOW_SECONDS
    assert response.json() == {
        "code": "too_many_sign_in_failures",
        "message": f"Too many failed sign-ins from this address; try again in {retry_after} s.",
        "details": {"field": "Authorization", "retryAfter": retry_after},
    }


@pytest.mark.django_db
def test_the_api_refuses_a_client_after_ten_wrong_tokens_in_a_minute_even_with_the_right_one(anonymous, api):
    fail_on_the_api(anonymous, FAILURE_LIMIT)
    assert_throttled(anonymous.get("/api/runs", HTTP_AUTHORIZATION=WRONG))
    # Refused before the comparison: the right token does not get through either, so guessing
    # on while throttled tells the guesser nothing.
    assert_throttled(api.get("/api/runs"))
    assert SignInFailure.objects.count() == FAILURE_LIMIT, "throttled attempts are not recorded"


@pytest.mark.django_db
def test_the_throttle_lifts_when_the_failures_leave_the_window(anonymous, api):
    fail_on_the_api(anonymous, FAILURE_LIMIT)
    assert_throttled(api.get("/api/runs"))
    SignInFailure.objects.update(failed_at=SignInFailure.objects.first().failed_at.replace(year=2000))
    assert api.get("/api/runs").status_code == 200


@pytest.mark.django_db
def test_successes_are_not_counted_and_nine_failures_do_not_slow_the_next_success(anonymous, api):
    for _ in range(30):
        assert api.get("/api/runs").status_code == 200
    fail_on_the_api(anonymous, FAILURE_LIMIT - 1)
    assert api.get("/api/runs").status_code == 200
    assert SignInFailure.objects.count() == FAILURE_LIMIT - 1


@pytest.mark.django_db
def test_a_request_without_any_token_is_not_a_failed_sign_in(anonymous, api):
    for _ in range(FAILURE_LIMIT + 5):
        assert anonymous.get("/api/runs").status_code == 401
    assert api.get("/api/runs").status_code == 200


@pytest.mark.django_db
def test_other_clients_are_not_throttled(anonymous):
    fail_on_the_api(anonymous, FAILURE_LIMIT)
    other = Client(SERVER_NAME="127.0.0.1", REMOTE_ADDR="192.0.2.7")
    assert other.get("/api/runs", HTTP_AUTHORIZATION=f"Bearer {settings.API_TOKEN}").status_code == 200


@pytest.mark.django_db
def test_the_sign_in_page_is_throttled_too_and_counts_with_the_api(anonymous):
    page = Client(SERVER_NAME="127.0.0.1")
    for _ in range(FAILURE_LIMIT - 1):
        response = page.post("/login/", {"token": "wrong-token-0123456789"})
        assert response.status_code == 401
    assert page.post("/login/", {"token": ""}).status_code == 401  # an empty form is not a guess
    fail_on_the_api(anonymous, 1)  # the tenth failure

    refused = page.post("/login/", {"token": settings.API_TOKEN})
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= WINDOW_SECONDS
    assert b"Too many failed sign-ins" in refused.content
    assert "_auth_user_id" not in page.session


@pytest.mark.django_db
def test_a_right_token_on_the_sign_in_page_signs_in(anonymous):
    page = Client(SERVER_NAME="127.0.0.1")
    fail_on_the_api(anonymous, FAILURE_LIMIT - 1)
    response = page.post("/login/", {"token": settings.API_TOKEN})
    assert response.status_code == 302
    assert "_auth_user_id" in page.session


@pytest.mark.django_db(transaction=True)
def test_failures_count_across_processes(anonymous, asgi_server):
    # Half the failures through the real server (another process), half here: the limit holds
    # for their sum, in both processes.
    with asgi_server.client(headers={"Authorization": WRONG}) as remote:
        for _ in range(FAILURE_LIMIT // 2):
            assert remote.get("/api/runs").status_code == 401
    fail_on_the_api(anonymous, FAILURE_LIMIT - FAILURE_LIMIT // 2)

    assert_throttled(anonymous.get("/api/runs", HTTP_AUTHORIZATION=f"Bearer {settings.API_TOKEN}"))
    with asgi_server.client() as remote:
        refused = remote.get("/api/runs")
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_sign_in_failures"
    assert 1 <= int(refused.headers["Retry-After"]) <= WINDOW_SECONDS
