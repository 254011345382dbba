"""The API docs page in a real browser: signed out it sends you to the sign-in and back, and Swagger
UI's Authorize button makes "Try it out" send the API token."""

import re

import pytest
from django.conf import settings

from tests.fixtures.browser import sign_in
from tests.fixtures.server import AsgiServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def docs_server(django_db_setup, django_db_blocker):
    server = AsgiServer({"DISPLAY": ""})
    yield server
    server.stop()


def test_signed_out_the_docs_send_you_to_sign_in_and_back(page, docs_server):
    page.goto(f"{docs_server.url}/api/docs/")
    page.wait_for_url(re.compile(r"/login/\?next=/api/docs/$"))
    page.get_by_label("API token").fill(settings.API_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{docs_server.url}/api/docs/")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "Deskhand API" in page.locator(".swagger-ui .info .title").inner_text()


def _open_docs_signed_in(page, docs_server) -> None:
    sign_in(page, docs_server.url, settings.API_TOKEN, next_path="/api/docs/")
    page.locator(".swagger-ui .info .title").wait_for()


def _try_scenarios_list(page):
    """Expand GET /api/scenarios, "Try it out", "Execute": the response it got."""
    operation = page.locator("#operations-scenarios-scenarios_list")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    with page.expect_response(re.compile(r"/api/scenarios(\?.*)?$")) as answered:
        operation.get_by_role("button", name="Execute").click()
    return operation, answered.value


def test_authorize_with_the_token_makes_try_it_out_work(page, browser_context, docs_server):
    _open_docs_signed_in(page, docs_server)

    page.locator("button.authorize").first.click()
    page.locator(".auth-container input").fill(settings.API_TOKEN)
    page.locator(".auth-container button.authorize").click()
    page.locator("button.btn-done").click()
    # From here only the token can authenticate: the sign-in cookie is gone.
    browser_context.clear_cookies()

    operation, response = _try_scenarios_list(page)
    assert response.request.headers.get("authorization") == f"Bearer {settings.API_TOKEN}"
    assert response.status == 200
    operation.locator(".live-responses-table tbody .response-col_status").first.wait_for()
    assert "200" in operation.locator(".live-responses-table tbody .response-col_status").first.inner_text()


def test_without_authorize_and_signed_out_try_it_out_is_refused(page, browser_context, docs_server):
    """The control: the 200 above came from the token, not from something else letting requests through."""
    _open_docs_signed_in(page, docs_server)
    browser_context.clear_cookies()
    _, response = _try_scenarios_list(page)
    assert response.status == 401 and "authorization" not in response.request.headers
