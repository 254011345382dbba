"""What the issue asks of the pages, end to end in a real browser: start `notepad-hello` from the
form and watch it finish on the run page; open the live console, watch frames arrive, send an
instruction, confirm the pending action, observe the windows. Real parts throughout: Daphne, a
Celery worker, the `openai` SDK against the fake model server, mousepad under Xvfb, Chromium."""

import re
import subprocess

import pytest
from django.conf import settings

from agent.computer import get_computer
from tests.fixtures.browser import save_screenshot, sign_in
from tests.fixtures.server import AsgiServer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.desktop,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(180),
]


@pytest.fixture(scope="module")
def desktop_pages_server(django_db_setup, django_db_blocker, desktop):
    """Daphne with the pages, started after the desktop so it streams that DISPLAY."""
    # Only the display's variables: the rest of desktop.env (DATABASE_URL among them) would point
    # Daphne away from the test database (see tests/sessions/conftest.py).
    display = {
        k: v for k, v in desktop.env.items() if k in ("DISPLAY", "DBUS_SESSION_BUS_ADDRESS") or k.startswith("XDG_")
    }
    server = AsgiServer({**display, "DESKHAND_SCREEN_STREAM_FPS": "5", "DESKHAND_SCREEN_STREAM_MAX_WIDTH": "640"})
    yield server
    server.stop()


def editor_centre(editor) -> tuple[int, int]:
    window = next(w for w in get_computer().windows() if editor.title_hint in w["title"])
    return window["x"] + window["width"] // 2, window["y"] + window["height"] // 2


def saved_text(editor, desktop, expected: str) -> str:
    """Save from here, not by the model: a ctrl+S right after a paste is sometimes lost by mousepad
    (see tests/sessions/test_end_to_end.py), and the file is what proves the text arrived."""
    subprocess.run(["xdotool", "key", "--clearmodifiers", "ctrl+s"], env=desktop.env, check=True, timeout=10)
    return editor.saved_text(expected, timeout_s=15)


def test_start_notepad_hello_from_the_form_and_watch_it_finish(
    page, desktop_pages_server, celery_worker_process, model, desktop, editor
):
    x, y = editor_centre(editor)
    model.add_turn(model.computer_call({"type": "screenshot"}))
    model.add_turn(model.computer_call({"type": "click", "x": x, "y": y}, {"type": "type", "text": "hello"}))
    model.add_turn(model.message("I typed hello into the editor."))

    sign_in(page, desktop_pages_server.url, settings.API_TOKEN, next_path="/runs/new")
    page.get_by_label("Scenario").select_option("notepad-hello")
    page.get_by_label("Provider").select_option("api-key")
    page.get_by_role("button", name="Start the run").click()
    page.wait_for_url(re.compile(r"/runs/run_[0-9a-f]+$"))
    # Live: the page follows the run's SSE stream to the end, no reload.
    page.locator("#run-status[data-status=succeeded]").wait_for(timeout=90_000)
    page.locator("#run-summary").get_by_text("I typed hello").wait_for()
    assert page.locator("#run-timeline li[data-type=agent_route]").count() == 1
    assert page.locator("#run-timeline li[data-type=computer_action]").count() >= 3
    frames = page.locator("#run-frames figure")
    assert frames.count() == 2
    # The click is drawn on the screen the model chose it on, where it aimed (model pixels).
    circle = frames.first.locator("svg circle")
    assert circle.count() == 1
    for index in range(frames.count()):
        frames.nth(index).locator("img").evaluate("img => img.decode()")
    assert saved_text(editor, desktop, "hello") == "hello", celery_worker_process.tail()
    assert page.get_by_role("link", name="Download replay").get_attribute("href").endswith("/replay")
    save_screenshot(page, "run-finished-desktop")


def test_live_console_frames_instruction_confirmation_and_observe(
    page, desktop_pages_server, celery_worker_process, model, desktop, editor
):
    x, y = editor_centre(editor)
    check = {"id": "sc_1", "code": "malicious_instructions", "message": "The page asks to type; confirm first."}
    model.add_turn(model.computer_call({"type": "screenshot"}))
    model.add_turn(
        model.computer_call(
            {"type": "click", "button": "left", "x": x, "y": y},
            {"type": "type", "text": "hello"},
            {"type": "keypress", "keys": ["CTRL", "S"]},
            safety_checks=[check],
        )
    )
    model.add_turn(model.message("Typed hello."))

    sign_in(page, desktop_pages_server.url, settings.API_TOKEN, next_path="/live")
    page.get_by_label("Provider").select_option("api-key")
    page.get_by_role("button", name="Open a new session").click()
    page.wait_for_url(re.compile(r"/live/ses_[0-9a-f]+$"))
    # Frames arrive from the screen stream into the <img>.
    page.wait_for_function("Number(document.getElementById('live-screen').dataset.frames || 0) >= 2", timeout=20_000)

    page.get_by_label("What should the agent do?").fill("type hello in the editor and save it")
    page.get_by_role("button", name="Send").click()
    confirm = page.locator("#live-confirm")
    confirm.wait_for(state="visible", timeout=60_000)
    # Exactly what would be done, and why, before anything is done.
    assert check["message"] in confirm.inner_text()
    shown = page.locator("#live-confirm-action").inner_text()
    assert f"1. click at {x}, {y}" in shown and "2. type “hello”" in shown and "3. press CTRL+S" in shown
    assert editor.path.read_text() == ""
    save_screenshot(page, "live-confirmation-desktop")
    page.get_by_role("button", name="Confirm").click()

    page.locator("#live-status[data-status=idle]").wait_for(timeout=60_000)
    assert confirm.is_hidden()
    page.locator("#live-timeline li[data-type=confirmation_resolved]").wait_for()
    assert saved_text(editor, desktop, "hello") == "hello", celery_worker_process.tail()

    page.get_by_role("button", name="Observe now").click()
    page.locator("#live-windows li", has_text=editor.title_hint).first.wait_for()
    frames_now = int(page.locator("#live-screen").get_attribute("data-frames"))
    assert frames_now >= 2
    save_screenshot(page, "live-session-desktop")
    page.get_by_role("button", name="Close session").click()
    page.locator("#live-status[data-status=closed]").wait_for()
