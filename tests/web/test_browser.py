"""The pages in a real browser (the system's Chromium through Playwright) against the real ASGI app
under Daphne: sign in, every page at a desktop and a phone size with a basic accessibility check,
start and stop a run from the form, Sign in with ChatGPT from the status page.

Each page is saved to test-artifacts/pages/<page>-<desktop|phone>.png.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.fixtures.browser import PHONE_VIEWPORT, save_screenshot, sign_in
from tests.fixtures.server import AsgiServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

A11Y_CHECK = (Path(__file__).parent / "a11y.js").read_text()


@pytest.fixture(scope="module")
def issuer():
    from tests.fakes.oauth_issuer import FakeOAuthIssuer

    fake = FakeOAuthIssuer().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def pages_server(django_db_setup, django_db_blocker, issuer):
    """Daphne with the pages wired, its ChatGPT sign-in pointed at the fake issuer, no desktop."""
    server = AsgiServer({"DESKHAND_CODEX_ISSUER": issuer.url, "DISPLAY": ""})
    yield server
    server.stop()


def assert_accessible(page, where: str) -> None:
    problems = page.evaluate(A11Y_CHECK)
    assert not problems, f"{where}: " + "\n".join(problems)


def assert_fits(page, where: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{where}: the page is {overflow}px wider than the phone screen"


def check_both_sizes(page, name: str) -> None:
    """The page passes the checks at 1280×800, then at a phone size; a screenshot of each."""
    assert_accessible(page, f"{name} at 1280×800")
    save_screenshot(page, f"{name}-desktop")
    page.set_viewport_size(PHONE_VIEWPORT)
    page.wait_for_timeout(100)
    assert_fits(page, name)
    assert_accessible(page, f"{name} at 390×844")
    save_screenshot(page, f"{name}-phone")


def test_sign_in_asks_for_the_token_and_refuses_a_wrong_one(page, pages_server):
    page.goto(pages_server.url + "/")
    assert "/login/" in page.url
    page.get_by_label("API token").fill("not-the-token")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").get_by_text("That is not this server's API token.").wait_for()
    check_both_sizes(page, "login")


@pytest.mark.parametrize("name", ["history", "run", "run-new", "live-index", "live", "status"])
def test_each_page_is_usable_at_desktop_and_phone_size(page, pages_server, seeded, name):
    sign_in(page, pages_server.url, settings.API_TOKEN)
    path = {
        "history": "/",
        "run": f"/runs/{seeded['newer'].pk}",
        "run-new": "/runs/new",
        "live-index": "/live",
        "live": f"/live/{seeded['session'].pk}",
        "status": "/status",
    }[name]
    page.goto(pages_server.url + path)
    if name == "history":
        rows = page.locator("table.records tbody tr")
        assert rows.count() == 3
        assert rows.first.get_attribute("data-id") == seeded["newer"].pk
        page.get_by_label("Kind").select_option("run")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url(re.compile(r"kind=run"))
        assert page.locator("table.records tbody tr").count() == 2
        page.goto(pages_server.url + "/")
        page.locator("table.records tbody tr").first.locator("img").evaluate("img => img.decode()")
    elif name == "run":
        page.locator("#run-summary").get_by_text("Typed hello.").wait_for()
        frames = page.locator("#run-frames figure")
        assert frames.count() == 2
        # The click the model chose on the first screen is drawn where it aimed, numbered 1.
        circle = frames.first.locator("svg circle")
        assert circle.count() == 1 and circle.get_attribute("cx") == "160" and circle.get_attribute("cy") == "100"
        assert "type “hello”" in frames.first.locator("figcaption").inner_text()
        assert page.locator("#run-timeline li").count() == 13
        assert page.get_by_role("button", name="Stop").is_disabled()
        assert page.get_by_role("button", name="Retry").is_enabled()
        frames.first.locator("img").evaluate("img => img.decode()")
    elif name == "run-new":
        assert page.get_by_label("Text").input_value() == "hello"
        page.get_by_label("Scenario").select_option("form-fill")
        page.get_by_label("Email (required)").wait_for()
    elif name == "live":
        # No desktop for this server: the screen says why instead of staying blank.
        page.get_by_text("DISPLAY").first.wait_for()
    elif name == "status":
        page.locator("#health-status[data-status]:not([data-status=''])").wait_for()
        page.get_by_role("button", name="Sign in with ChatGPT").wait_for()
        page.locator("#log-lines li").first.wait_for()
    check_both_sizes(page, name)


def test_a_run_started_from_the_form_opens_its_page_and_stops(page, pages_server, model):
    # If the session's worker is up, the run executes: the model then waits, so it is still going
    # when Stop is pressed. Without a worker it waits in the queue. Either way Stop ends it.
    model.add_turn(model.computer_call({"type": "wait", "seconds": 30}))
    sign_in(page, pages_server.url, settings.API_TOKEN, next_path="/runs/new")
    # A bad input is refused by the API, named, and the field is marked and focused.
    page.get_by_label("Scenario").select_option("form-fill")
    page.get_by_label("Url (required)").fill("https://example.test/form")
    page.get_by_label("Name (required)").fill("Ada")
    page.get_by_label("Email (required)").fill("not-an-email")
    page.get_by_role("button", name="Start the run").click()
    page.locator("#run-form-error").get_by_text("input.email").wait_for()
    assert page.get_by_label("Email (required)").get_attribute("aria-invalid") == "true"

    page.get_by_label("Scenario").select_option("notepad-hello")
    page.get_by_label("Text").fill("hello from the page")
    page.get_by_role("button", name="Start the run").click()
    page.wait_for_url(re.compile(r"/runs/run_[0-9a-f]+$"))
    run_id = page.url.rsplit("/", 1)[1]
    from runs.models import Run

    run = Run.objects.get(pk=run_id)
    assert run.input == {"text": "hello from the page"} and run.scenario_id == "notepad-hello"
    page.get_by_role("button", name="Stop").click()
    page.locator("#run-status[data-status=stopped]").wait_for()
    assert Run.objects.get(pk=run_id).status == "stopped"
    page.get_by_role("button", name="Retry").wait_for(state="visible")
    assert page.get_by_role("button", name="Retry").is_enabled()


def test_sign_in_with_chatgpt_from_the_status_page_with_a_device_code(page, pages_server, issuer):
    sign_in(page, pages_server.url, settings.API_TOKEN, next_path="/status")
    page.get_by_role("button", name="Use a device code").click()
    code = page.locator("#codex-user-code")
    code.wait_for()
    save_screenshot(page, "status-device-code")
    issuer.approve_device(code.inner_text().strip())
    page.get_by_text("Signed in as user@example.com").wait_for(timeout=20_000)
    # Leave the shared data folder signed out again for the tests that follow.
    page.get_by_role("button", name="Sign out of ChatGPT").click()
    page.locator("#codex-logout[hidden]").wait_for(state="attached")
    page.get_by_role("button", name="Sign in with ChatGPT").click()
    link = page.locator("#codex-authorize-url")
    link.wait_for()
    assert link.get_attribute("href").startswith(issuer.url)
