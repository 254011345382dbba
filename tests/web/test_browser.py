"""The pages in a real browser (the system's Chromium through Playwright) against the real ASGI app
under Daphne: sign in, every page at a desktop and a phone size with a basic accessibility check,
start and stop a run from the form, Sign in with ChatGPT from the status page, and what makes them
humane (issue 18): field errors at their fields, status and health that tell the truth, history
filters that follow the kind, a house with a favicon, 404 pages and a branded admin. Every test
also fails on anything the Content-Security-Policy blocked (tests/fixtures/browser.py).

Each page is saved to test-artifacts/screenshots/<page>-<desktop|phone>.png.
"""

import re
import shutil
import socket
from pathlib import Path

import pytest
from django.conf import settings

from tests.fixtures.browser import PHONE_VIEWPORT, save_screenshot, sign_in
from tests.fixtures.server import AsgiServer, free_port

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

A11Y_CHECK = (Path(__file__).parent / "a11y.js").read_text()


@pytest.fixture(scope="module")
def issuer():
    from tests.fakes.oauth_issuer import FakeOAuthIssuer

    fake = FakeOAuthIssuer().start()
    yield fake
    fake.stop()


ROOT = Path(__file__).resolve().parents[2]
# A scenario whose rules the page does not check itself (`not`, `multipleOf`): only the API refuses
# it, so the page must show the API's field errors, every one at its field.
API_ONLY_RULES = """
id: api-only-rules
title: Rules only the server checks
instruction: Say ${code} ${amount}
input:
  type: object
  properties:
    code: {type: string, not: {const: forbidden}}
    amount: {type: integer, multipleOf: 5}
"""


@pytest.fixture(scope="module")
def scenarios_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scenarios")
    for path in (ROOT / "scenarios").glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    (folder / "api-only-rules.yaml").write_text(API_ONLY_RULES)
    return folder


@pytest.fixture(scope="module")
def pages_server(django_db_setup, django_db_blocker, issuer, scenarios_dir):
    """Daphne with the pages wired, its ChatGPT sign-in pointed at the fake issuer, no desktop."""
    # Its own sign-in callback port: a test holds it to see how the page explains a busy one.
    callback_port = free_port()
    server = AsgiServer(
        {
            "DESKHAND_CODEX_ISSUER": issuer.url,
            "DISPLAY": "",
            "DESKHAND_SCENARIOS_DIR": str(scenarios_dir),
            "DESKHAND_CODEX_CALLBACK_PORT": str(callback_port),
        }
    )
    server.callback_port = callback_port
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
        page.locator("table.records tbody tr").first.locator("img").first.evaluate("img => img.decode()")
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
        page.locator("#health-problems li").first.wait_for()
        page.locator("#log-lines li").first.wait_for()
    check_both_sizes(page, name)


def test_a_run_started_from_the_form_opens_its_page_and_stops(page, pages_server, model):
    # If the session's worker is up, the run executes: the model then waits, so it is still going
    # when Stop is pressed. Without a worker it waits in the queue. Either way Stop ends it.
    model.add_turn(model.computer_call({"type": "wait", "seconds": 30}))
    sign_in(page, pages_server.url, settings.API_TOKEN, next_path="/runs/new")
    # A bad input is explained at its field, in words, and the field is marked and focused.
    page.get_by_label("Scenario").select_option("form-fill")
    page.get_by_label("URL (required)").fill("https://example.test/form")
    page.get_by_label("Name (required)").fill("Ada")
    page.get_by_label("Email (required)").fill("not-an-email")
    page.get_by_role("button", name="Start the run").click()
    page.locator("#input-email-error").get_by_text("Enter an e-mail address such as name@example.com.").wait_for()
    assert page.get_by_label("Email (required)").get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "input-email"

    page.get_by_label("Scenario").select_option("notepad-hello")
    page.get_by_label("Text").fill("hello from the page")
    page.get_by_role("button", name="Start the run").click()
    page.wait_for_url(re.compile(r"/runs/run_[0-9a-f]+$"))
    run_id = page.url.rsplit("/", 1)[1]
    from runs.models import Run

    run = Run.objects.get(pk=run_id)
    assert run.input == {"text": "hello from the page"} and run.scenario_id == "notepad-hello"
    assert run.requested_machine == ""  # the default: any free machine
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


# --- Forms that explain ---------------------------------------------------------------------------


def test_every_field_error_is_shown_at_its_field_in_plain_words(page, pages_server):
    sign_in(page, pages_server.url, settings.API_TOKEN, next_path="/runs/new")
    sent = []
    page.on("request", lambda request: sent.append(request.url) if request.method == "POST" else None)
    page.get_by_label("Scenario").select_option("form-fill")
    # Inputs typed by the schema: an address, an e-mail, one line for a name, several for a message.
    assert page.get_by_label("URL (required)").get_attribute("type") == "url"
    assert page.get_by_label("Email (required)").get_attribute("type") == "email"
    assert page.get_by_label("Name (required)").evaluate("n => n.tagName") == "INPUT"
    assert page.get_by_label("Message").evaluate("n => n.tagName") == "TEXTAREA"
    page.get_by_role("button", name="Start the run").click()
    errors = {name: page.locator(f"#input-{name}-error") for name in ("url", "name", "email")}
    for name, box in errors.items():
        box.wait_for()
        assert box.inner_text() == "⚠ This field is required." or box.inner_text() == "This field is required."
        assert page.locator(f"#input-{name}").get_attribute("aria-invalid") == "true"
    assert "3 fields need a change" in page.locator("#run-form-error").inner_text()
    assert not sent, "nothing is sent while the page can see the input is wrong"
    page.get_by_label("URL (required)").fill("example.test/form")
    page.get_by_label("Email (required)").fill("ada@")
    page.get_by_role("button", name="Start the run").click()
    page.locator("#input-url-error").get_by_text("Enter a web address that starts with http:// or https://").wait_for()
    page.locator("#input-email-error").get_by_text("Enter an e-mail address such as name@example.com.").wait_for()
    save_screenshot(page, "run-new-field-errors-desktop")
    # Numbers in words: a minimum is "a whole number from 1 to 50", not a schema sentence.
    page.get_by_label("Scenario").select_option("disk-usage-report")
    page.get_by_label("Top").fill("0")
    page.get_by_role("button", name="Start the run").click()
    text = page.locator("#input-top-error").inner_text()
    assert "Too small: a whole number from 1 to" in text and "minimum" not in text


def test_field_errors_only_the_api_finds_are_shown_at_their_fields_too(page, pages_server):
    sign_in(page, pages_server.url, settings.API_TOKEN, next_path="/runs/new?scenario=api-only-rules")
    page.get_by_label("Code").fill("forbidden")
    page.get_by_label("Amount").fill("7")
    page.get_by_role("button", name="Start the run").click()
    page.locator("#input-code-error:not([hidden])").wait_for()
    page.locator("#input-amount-error:not([hidden])").wait_for()
    assert "multiple of 5" in page.locator("#input-amount-error").inner_text()
    assert "input.amount" not in page.locator("#input-amount-error").inner_text()
    assert "2 fields need a change" in page.locator("#run-form-error").inner_text()


def test_a_provider_that_is_not_ready_cannot_be_chosen_and_says_how_to_fix_it(page, pages_server):
    sign_in(page, pages_server.url, settings.API_TOKEN, next_path="/runs/new")
    codex = page.locator("#run-provider option[value=codex-oauth]")
    assert codex.is_disabled() and "(not ready)" in codex.inner_text()
    assert page.locator("#run-provider").input_value() == "api-key"
    link = page.get_by_role("link", name="Sign in with ChatGPT on the Status page")
    assert link.get_attribute("href") == "/status#codex-actions"


# --- Status and health that tell the truth ----------------------------------------------------------


def test_status_tells_the_truth_without_a_display_and_hides_what_cannot_be_done(page, pages_server):
    sign_in(page, pages_server.url, settings.API_TOKEN, next_path="/status")
    from runs.models import Machine

    # No worker reports a desktop either (a worker another test started may still heartbeat). The
    # suite's own worker registers again, display and all, when an earlier test's flush removed
    # its row: the row is there first, so its heartbeats leave this alone.
    Machine.objects.get_or_create(name=settings.MACHINE_NAME)
    Machine.objects.update(display_reachable=False)
    page.request.post(pages_server.url + "/api/auth/codex/logout", headers=page_csrf(page))  # no pending sign-in
    page.reload()
    badge = page.locator("#health-status[data-status=degraded]")
    badge.wait_for()
    assert badge.inner_text().startswith("Degraded: ")
    problem = page.locator("#health-problems li[data-code=display_unreachable]")
    text = problem.inner_text()
    assert text.startswith("The desktop is not reachable") and "DISPLAY is not set" in text
    # Signed out of ChatGPT with no Codex CLI sign-in: nothing to import, nobody to sign out.
    page.get_by_role("button", name="Sign in with ChatGPT").wait_for()
    for name in ("Import the Codex CLI sign-in", "Sign out of ChatGPT", "Cancel the sign-in"):
        assert not page.get_by_role("button", name=name, include_hidden=True).is_visible(), name
    save_screenshot(page, "status-degraded-desktop")


def test_a_sign_in_that_cannot_start_is_explained_in_the_page_s_words(page, pages_server):
    sign_in(page, pages_server.url, settings.API_TOKEN, next_path="/status")
    page.request.post(pages_server.url + "/api/auth/codex/logout", headers=page_csrf(page))  # no pending login
    page.reload()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", pages_server.callback_port))
        holder.listen()
        page.get_by_role("button", name="Sign in with ChatGPT").click()
        message = page.locator("#codex-login .error", has_text="Cannot listen")
        message.wait_for()
    text = message.inner_text()
    assert "“Use a device code”" in text and '{"method"' not in text


def page_csrf(page) -> dict:
    return {"X-CSRFToken": page.locator('meta[name="csrf-token"]').get_attribute("content")}


# --- History ----------------------------------------------------------------------------------------


def test_history_offers_the_statuses_of_the_chosen_kind_and_keeps_the_choice(page, pages_server, seeded):
    sign_in(page, pages_server.url, settings.API_TOKEN)
    page.get_by_label("Kind").select_option("session")
    offered = page.locator("#filter-status option:not([disabled])").evaluate_all("os => os.map(o => o.value)")
    assert offered[0] == "" and set(offered[1:]) == {
        "idle",
        "executing",
        "waiting_confirmation",
        "paused",
        "stopping",
        "closed",
        "interrupted",
    }
    page.get_by_label("Status").select_option("idle")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"kind=session&status=idle"))
    assert page.get_by_label("Kind").input_value() == "session"
    assert page.get_by_label("Status").input_value() == "idle"
    assert page.locator("table.records tbody tr").count() == 1
    # Back to runs: a session status the runs never have falls back to "Any status".
    page.get_by_label("Kind").select_option("run")
    assert page.get_by_label("Status").input_value() == ""
    # A combination typed into the address is explained in a sentence; the kind stays chosen.
    page.goto(pages_server.url + "/?kind=session&status=succeeded")
    assert page.get_by_role("alert").inner_text() == (
        "Live sessions are never “Succeeded”, so live sessions in every status are shown."
    )
    assert page.get_by_label("Kind").input_value() == "session"


def test_a_history_thumbnail_shows_a_large_preview_on_hover(page, pages_server, seeded):
    sign_in(page, pages_server.url, settings.API_TOKEN)
    thumb = page.locator("table.records tbody tr").first.locator(".thumb-link")
    small = thumb.locator("img").first.bounding_box()
    assert small["width"] == 160 and small["height"] == 100
    preview = thumb.locator(".preview img")
    assert not preview.is_visible()
    thumb.hover()
    preview.wait_for(state="visible")
    preview.evaluate("img => img.decode()")
    assert preview.bounding_box()["width"] >= 3 * small["width"]
    save_screenshot(page, "history-preview-desktop", full_page=False)


# --- The run page, without a worker -----------------------------------------------------------------


def test_a_stop_that_was_accepted_shows_as_stopping_until_the_run_ends(page, pages_server):
    from django.utils import timezone

    from runs.models import Run

    now = timezone.now()
    run = Run.objects.create(
        scenario_id="notepad-hello",
        title="Type hello in the text editor",
        status=Run.Status.RUNNING,
        auth_provider="api-key",
        model="gpt-5.4",
        started_at=now,
        stop_requested_at=now,
    )
    sign_in(page, pages_server.url, settings.API_TOKEN, next_path=f"/runs/{run.pk}")
    assert page.locator("#run-status").inner_text() == "Stopping…"
    assert page.locator("#run-status").get_attribute("data-status") == "stopping"
    assert page.get_by_role("button", name="Stop").is_disabled()
    assert page.locator("#run-message").inner_text() == "Stop requested: the run ends after its current step."
    # This server has no display: the live screen says so instead of staying black.
    page.locator("#run-live-placeholder", has_text="DISPLAY is not set").wait_for()
    # The status values other work adds are drawn as well.
    for status, words in (("stopping", "Stopping…"), ("paused", "Paused")):
        paused_at = now if status == "paused" else None  # a run is paused because a person asked
        Run.objects.filter(pk=run.pk).update(status=status, stop_requested_at=None, pause_requested_at=paused_at)
        page.reload()
        assert page.locator("#run-status").inner_text() == words
        assert page.get_by_role("button", name="Stop").is_enabled() == (status == "paused")


def test_pause_and_resume_hand_the_desktop_over_and_back_on_the_run_page(page, pages_server):
    from django.utils import timezone

    from runs.models import Run

    now = timezone.now()
    run = Run.objects.create(
        scenario_id="notepad-hello",
        title="Type hello in the text editor",
        status=Run.Status.RUNNING,
        auth_provider="api-key",
        model="gpt-5.4",
        started_at=now,
        heartbeat_at=now,
    )
    sign_in(page, pages_server.url, settings.API_TOKEN, next_path=f"/runs/{run.pk}")
    pause = page.get_by_role("button", name="Pause", exact=True)
    resume = page.get_by_role("button", name="Resume", exact=True)
    assert pause.is_visible() and pause.is_enabled() and not resume.is_visible()
    pause.click()
    page.locator("#run-status", has_text="Pausing…").wait_for()
    assert Run.objects.get(pk=run.pk).pause_requested_at is not None
    assert resume.is_visible() and not pause.is_visible()
    assert "next safe point" in page.locator("#run-message").inner_text()
    # The worker reaches a safe point: paused (what the engine's sink writes).
    Run.objects.filter(pk=run.pk).update(status=Run.Status.PAUSED)
    page.reload()
    assert page.locator("#run-status").inner_text() == "Paused"
    assert "the desktop is yours" in page.locator("#run-message").inner_text()
    save_screenshot(page, "run-paused")
    resume.click()
    page.locator("#run-status", has_text="Resuming…").wait_for()
    assert Run.objects.get(pk=run.pk).pause_requested_at is None
    assert not resume.is_visible() and pause.is_disabled()  # until the worker says it works again
    # A stopping run offers neither.
    Run.objects.filter(pk=run.pk).update(status=Run.Status.STOPPING, stop_requested_at=timezone.now())
    page.reload()
    assert not pause.is_visible() or pause.is_disabled()
    assert not resume.is_visible()


def test_pause_and_resume_on_the_live_console(page, pages_server):
    from django.utils import timezone

    from sessions.models import LiveSession

    session = LiveSession.objects.create(
        auth_provider="api-key", model="gpt-5.4", status=LiveSession.Status.EXECUTING, heartbeat_at=timezone.now()
    )
    sign_in(page, pages_server.url, settings.API_TOKEN, next_path=f"/live/{session.pk}")
    pause = page.get_by_role("button", name="Pause", exact=True)
    resume = page.get_by_role("button", name="Resume", exact=True)
    assert pause.is_enabled() and not resume.is_visible()
    pause.click()
    page.locator("#live-status", has_text="Pausing…").wait_for()
    assert LiveSession.objects.get(pk=session.pk).pause_requested_at is not None
    resume.click()
    page.locator("#live-message", has_text="Resumed").wait_for()
    assert LiveSession.objects.get(pk=session.pk).pause_requested_at is None
    assert pause.is_visible() and not resume.is_visible()


def test_a_finished_run_puts_its_outcome_first_and_labels_every_action(page, pages_server, seeded):
    from events.services import event_append

    run = seeded["newer"]
    event_append(owner_id=run.pk, type="computer_action", data={"call_id": "c3", "type": "wait"})
    sign_in(page, pages_server.url, settings.API_TOKEN, next_path=f"/runs/{run.pk}")
    outcome = page.locator("#run-outcome")
    assert outcome.is_visible() and "Typed hello." in outcome.inner_text()
    # First on the page, above the screen and the timeline.
    assert outcome.bounding_box()["y"] < page.locator("#screen-title").bounding_box()["y"]
    labels = page.locator("#run-timeline li .kind").all_inner_texts()
    assert {"Model chose", "Click", "Type", "Look", "Wait", "Route", "Status", "Screenshot"} <= set(labels)
    click = page.locator("#run-timeline li[data-type=computer_action]", has_text="Click").inner_text()
    assert click.endswith("Click at 160, 100")
    wait = page.locator("#run-timeline li[data-type=computer_action]").last.inner_text()
    assert wait.endswith("Wait a moment") and "wait s" not in wait
    route = page.locator("#run-timeline li[data-type=agent_route]").inner_text()
    assert "Desktop agent: the scenario says so" in route
    # The newest step screen stands in for the live screen.
    page.locator("#run-last-frame figure").wait_for()
    assert page.locator("#run-live").is_hidden()


# --- Machines ----------------------------------------------------------------------------------------


@pytest.fixture
def machines():
    """alpha is online and free, beta's worker is gone."""
    from django.utils import timezone

    from runs.models import Machine

    now = timezone.now()
    return {
        "alpha": Machine.objects.create(
            name="alpha", last_heartbeat=now, display_reachable=True, screen_width=1280, screen_height=800
        ),
        "beta": Machine.objects.create(name="beta", last_heartbeat=now - timezone.timedelta(hours=1)),
    }


def test_the_run_form_offers_any_free_machine_or_one_by_name_and_a_run_for_an_offline_one_waits(
    page, pages_server, machines
):
    from runs.models import Run

    sign_in(page, pages_server.url, settings.API_TOKEN, next_path="/runs/new?scenario=notepad-hello")
    picker = page.get_by_label("Machine")
    assert picker.input_value() == ""
    offered = picker.locator("option").all_inner_texts()
    assert offered[0] == "Any free machine" and {"alpha (free)", "beta (offline)"} <= set(offered)
    picker.select_option("beta")
    page.get_by_label("Text").fill("on beta")
    page.get_by_role("button", name="Start the run").click()
    page.wait_for_url(re.compile(r"/runs/run_[0-9a-f]+$"))
    run_id = page.url.rsplit("/", 1)[1]
    assert Run.objects.get(pk=run_id).requested_machine == "beta"
    # The run page says what it waits for.
    page.locator("#run-facts", has_text="Waiting for machine beta, which is offline").wait_for()
    page.get_by_role("button", name="Stop").click()
    page.locator("#run-status[data-status=stopped]").wait_for()


def test_the_live_console_opens_a_session_on_the_chosen_machine(page, pages_server, machines):
    from sessions.models import LiveSession

    sign_in(page, pages_server.url, settings.API_TOKEN, next_path="/live")
    picker = page.get_by_label("Machine")
    assert picker.input_value() == ""
    picker.select_option("alpha")
    page.get_by_role("button", name="Open a new session").click()
    page.wait_for_url(re.compile(r"/live/ses_[0-9a-f]+$"))
    session = LiveSession.objects.select_related("machine").get(pk=page.url.rsplit("/", 1)[1])
    assert session.machine.name == "alpha"


def test_history_shows_the_machine_of_each_record(page, pages_server, seeded, machines):
    from runs.models import Run

    Run.objects.filter(pk=seeded["newer"].pk).update(machine=machines["alpha"])
    sign_in(page, pages_server.url, settings.API_TOKEN)
    assert page.get_by_role("columnheader", name="Machine").is_visible()
    newer = page.locator(f"table.records tbody tr[data-id={seeded['newer'].pk}] td[data-label=Machine]")
    older = page.locator(f"table.records tbody tr[data-id={seeded['older'].pk}] td[data-label=Machine]")
    assert newer.inner_text() == "alpha" and older.inner_text() == "—"


def test_the_status_page_lists_the_machines_online_busy_or_offline_and_keeps_them_current(
    page, pages_server, seeded, machines
):
    from django.utils import timezone

    from runs.models import Machine

    Machine.objects.filter(pk=machines["alpha"].pk).update(desktop_holder=seeded["newer"].pk)
    sign_in(page, pages_server.url, settings.API_TOKEN, next_path="/status")
    alpha = page.locator("#machines-rows tr[data-machine=alpha]")
    beta = page.locator("#machines-rows tr[data-machine=beta]")
    alpha.wait_for()
    assert alpha.locator(".badge").inner_text() == "Busy" and "1280×800" in alpha.inner_text()
    assert alpha.get_by_role("link", name="a run").get_attribute("href") == f"/runs/{seeded['newer'].pk}"
    assert beta.locator(".badge").inner_text() == "Offline"
    check_both_sizes(page, "status-machines")
    # beta's worker comes back: the page shows it without a reload.
    Machine.objects.filter(pk=machines["beta"].pk).update(last_heartbeat=timezone.now())
    beta.locator(".badge", has_text="Free").wait_for(timeout=15_000)


# --- The house around the pages ---------------------------------------------------------------------


def test_unknown_records_get_a_404_page_with_the_navigation(page, pages_server):
    sign_in(page, pages_server.url, settings.API_TOKEN)
    for path in ("/runs/run_nope", "/live/ses_nope"):
        response = page.goto(pages_server.url + path)
        assert response.status == 404
        page.get_by_role("heading", name="Nothing here").wait_for()
        nav = page.get_by_role("navigation", name="Main")
        for name in ("History", "Start a run", "Live console", "Status", "Admin"):
            assert nav.get_by_role("link", name=name).is_visible()
    assert_accessible(page, "404")
    save_screenshot(page, "not-found-desktop")


def test_the_favicon_and_the_token_field_focused_on_the_sign_in(page, pages_server):
    page.goto(pages_server.url + "/login/")
    assert page.evaluate("document.activeElement.id") == "id_token"
    icon = page.request.get(pages_server.url + "/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"] == "image/x-icon"
    svg = page.locator('link[rel="icon"]').get_attribute("href")
    assert page.request.get(pages_server.url + svg).status == 200


def test_the_api_docs_ask_for_the_sign_in_and_come_back(page, pages_server):
    page.goto(pages_server.url + "/api/docs/")
    page.wait_for_url(re.compile(r"/login/\?next=/api/docs/$"))
    page.get_by_label("API token").fill(settings.API_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(pages_server.url + "/api/docs/")
    # Swagger UI renders the schema (its script comes from the server too: no inline script).
    page.get_by_text("Deskhand API").first.wait_for()
    page.locator(".opblock").first.wait_for()
    save_screenshot(page, "api-docs-desktop")


def test_admin_is_branded_and_reached_from_the_header(page, pages_server, seeded):
    sign_in(page, pages_server.url, settings.API_TOKEN)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    page.get_by_role("link", name="Deskhand admin").wait_for()
    assert page.get_by_role("link", name="Groups").count() == 0 and page.get_by_role("link", name="Users").count() == 0
    save_screenshot(page, "admin-index-desktop")
    from memory.services import memory_entry_create

    memory_entry_create(
        content="The text editor keeps unsaved files in a recovery folder; ask before closing it. " * 2,
        category="warning",
        app_context="Mousepad",
        tags=["editor", "files"],
        confidence=0.8,
        source="agent",
        source_owner_id=seeded["newer"].pk,
    )
    page.goto(pages_server.url + "/admin/memory/memoryentry/")
    content = page.locator("#result_list .field-short_content").first
    # The content reads as text, not a word per line.
    assert content.bounding_box()["width"] >= 300
    save_screenshot(page, "admin-memory-desktop")
    content.get_by_role("link").click()
    assert page.get_by_label("Tags").input_value() == "editor, files"
    save_screenshot(page, "admin-memory-entry-desktop")
