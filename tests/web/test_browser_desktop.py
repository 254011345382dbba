"""What the issues ask of the pages, end to end in a real browser: start `notepad-hello` from the
form and watch it finish on the run page; watch a run go (facts that fill in, a ticking clock, the
turn, the live screen, a timeline that follows) and stop it; open the live console, watch frames
arrive, send an instruction with Ctrl+Enter, see the pending action drawn on the screen, confirm
it, recall the instruction with ↑, observe the windows. Real parts throughout: Daphne, a Celery
worker, the `openai` SDK against the fake model server, mousepad under Xvfb, Chromium."""

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


def script_hello(model, editor) -> None:
    """The model's turns of notepad-hello: look, click into the editor and type, report."""
    x, y = editor_centre(editor)
    model.add_turn(model.computer_call({"type": "screenshot"}))
    model.add_turn(model.computer_call({"type": "click", "x": x, "y": y}, {"type": "type", "text": "hello"}))
    model.add_turn(model.message("I typed hello into the editor."))


def saved_text(editor, desktop, expected: str) -> str:
    """Save from here, not by the model: a ctrl+S right after a paste is sometimes lost by mousepad
    (see tests/sessions/test_end_to_end.py), and the file is what proves the text arrived."""
    subprocess.run(["xdotool", "key", "--clearmodifiers", "ctrl+s"], env=desktop.env, check=True, timeout=10)
    return editor.saved_text(expected, timeout_s=15)


def test_start_notepad_hello_from_the_form_and_watch_it_finish(
    page, desktop_pages_server, celery_worker_process, model, desktop, editor
):
    script_hello(model, editor)

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


def newest_item_in_view(page, timeline: str) -> bool:
    """The timeline's newest entry is inside both its scroll box and the window, without scrolling."""
    return page.evaluate(
        """(id) => {
          const list = document.getElementById(id);
          const last = list.lastElementChild.getBoundingClientRect();
          const box = list.getBoundingClientRect();
          return last.bottom <= box.bottom + 1 && last.top >= box.top - 1 && last.bottom <= window.innerHeight;
        }""",
        timeline,
    )


def test_a_run_you_can_watch_while_it_goes_and_stop(page, desktop_pages_server, celery_worker_process, model, editor):
    x, y = editor_centre(editor)
    model.add_turn(model.computer_call({"type": "screenshot"}))
    # Nothing typed: an editor left with unsaved text asks about it when closed, in the next test's way.
    model.add_turn(model.computer_call({"type": "click", "x": x, "y": y}))
    model.add_turn(model.computer_call({"type": "wait", "seconds": 30}))  # still going while we look

    sign_in(page, desktop_pages_server.url, settings.API_TOKEN, next_path="/runs/new")
    page.get_by_label("Scenario").select_option("notepad-hello")
    page.get_by_role("button", name="Start the run").click()
    page.wait_for_url(re.compile(r"/runs/run_[0-9a-f]+$"))
    # The facts fill in from the events as they arrive, no reload.
    page.locator("#run-turn", has_text="3 of 20").wait_for(timeout=60_000)
    page.locator("#run-timeline li[data-type=computer_action]", has_text="Wait").wait_for()
    assert page.locator("#run-route").inner_text() == "Desktop agent"
    assert page.locator("#run-machine").inner_text() == settings.MACHINE_NAME
    assert re.fullmatch(r"[\d,]+ in, [\d,]+ out", page.locator("#run-tokens").inner_text())
    assert "—" not in page.locator("#run-facts dd").nth(6).inner_text()  # Started
    before = page.locator("#run-elapsed").inner_text()
    # Functions, not expression strings: Playwright evaluates a string with eval, which the pages' CSP refuses.
    page.wait_for_function("(before) => document.getElementById('run-elapsed').textContent !== before", arg=before)
    assert re.fullmatch(r"\d+:\d\d", page.locator("#run-elapsed").inner_text())
    # The live screen of the machine while it runs.
    page.wait_for_function(
        "() => Number(document.getElementById('run-live-screen').dataset.frames || 0) >= 1", timeout=20_000
    )
    assert page.locator("#run-live-screen").is_visible()
    # The timeline follows: its newest entry is on screen without scrolling.
    page.wait_for_function("() => document.getElementById('run-timeline').lastElementChild !== null")
    assert newest_item_in_view(page, "run-timeline")
    assert page.locator("#run-outcome").is_hidden()
    save_screenshot(page, "run-running-desktop", full_page=False)

    # A reader who scrolled up to read stays where they are while events arrive.
    page.locator("#run-timeline").evaluate("list => { list.scrollTop = 0; }")
    page.get_by_role("button", name="Stop").click()
    page.locator("#run-status[data-status=stopped]").wait_for(timeout=30_000)
    page.locator("#run-timeline li[data-type=status]", has_text="Stopped").wait_for(state="attached")
    assert page.locator("#run-timeline").evaluate("list => list.scrollTop") == 0
    page.get_by_role("button", name="Show the newest ↓").click()
    assert page.locator("#run-status").inner_text() == "Stopped"
    assert page.locator("#run-message").is_hidden(), "“Stop requested” goes once the run has stopped"
    outcome = page.locator("#run-outcome")
    assert outcome.is_visible() and outcome.bounding_box()["y"] < page.locator("#screen-title").bounding_box()["y"]
    # The live screen gives way to the step screens.
    page.locator("#run-last-frame figure").wait_for()
    assert page.locator("#run-live").is_hidden()
    assert page.get_by_role("button", name="Stop").is_disabled()
    assert newest_item_in_view(page, "run-timeline")
    save_screenshot(page, "run-stopped-desktop")


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
    page.wait_for_function(
        "() => Number(document.getElementById('live-screen').dataset.frames || 0) >= 2", timeout=20_000
    )

    instruction = "type hello in the editor and save it"
    page.get_by_label("What should the agent do?").fill(instruction)
    page.get_by_label("What should the agent do?").press("Control+Enter")  # sends, like the button
    confirm = page.locator("#live-confirm")
    confirm.wait_for(state="visible", timeout=60_000)
    # Exactly what would be done, and why in words, before anything is done.
    assert check["message"] in confirm.inner_text()
    assert page.locator("#live-confirm-heading").inner_text() == "The model's safety check flagged this step"
    assert "safety_check" not in confirm.inner_text()
    shown = page.locator("#live-confirm-action").inner_text()
    assert f"1. click at {x}, {y}" in shown and "2. type “hello”" in shown and "3. press CTRL+S" in shown
    # Drawn where it would happen: a marker at the click on the screen the model sees (its own
    # pixels, the viewBox of the SVG over that screenshot), the text it would type beside it.
    marker = page.locator("#live-confirm-screen svg circle").first
    assert (marker.get_attribute("cx"), marker.get_attribute("cy")) == (str(x), str(y))
    assert "hello" in page.locator("#live-confirm-screen svg").text_content()
    # The pane may be drawn again as the step's events arrive (they are written while the engine
    # waits): measure what is on screen once it is there.
    page.locator("#live-confirm-screen img").wait_for(state="visible")
    marker.wait_for(state="visible")
    screen = page.locator("#live-confirm-screen img").bounding_box()
    drawn = marker.bounding_box()
    centre = (drawn["x"] + drawn["width"] / 2 - screen["x"], drawn["y"] + drawn["height"] / 2 - screen["y"])
    assert abs(centre[0] - x * screen["width"] / desktop.width) < 3
    assert abs(centre[1] - y * screen["height"] / desktop.height) < 3
    # And over the live screen, where the eyes are.
    live_marker = page.locator("#live-screen-marks circle").first
    live_marker.wait_for()
    assert (live_marker.get_attribute("cx"), live_marker.get_attribute("cy")) == (str(x), str(y))
    assert editor.path.read_text() == ""
    save_screenshot(page, "live-confirmation-desktop")
    page.get_by_role("button", name="Confirm").click()

    page.locator("#live-status[data-status=idle]").wait_for(timeout=60_000)
    assert confirm.is_hidden()
    assert page.locator("#live-screen-marks").is_hidden()
    page.locator("#live-timeline li[data-type=confirmation_resolved]").wait_for()
    assert saved_text(editor, desktop, "hello") == "hello", celery_worker_process.tail()
    # ↑ brings the instruction back.
    field = page.get_by_label("What should the agent do?")
    assert field.input_value() == ""
    field.focus()
    field.press("ArrowUp")
    assert field.input_value() == instruction
    field.press("ArrowDown")
    assert field.input_value() == ""

    page.get_by_role("button", name="Observe now").click()
    page.locator("#live-windows li", has_text=editor.title_hint).first.wait_for()
    frames_now = int(page.locator("#live-screen").get_attribute("data-frames"))
    assert frames_now >= 2
    save_screenshot(page, "live-session-desktop")
    page.get_by_role("button", name="Close session").click()
    page.locator("#live-status[data-status=closed]").wait_for()


def test_replay_a_succeeded_run_from_its_page_and_see_the_replayed_steps_apart(
    page, desktop_pages_server, celery_worker_process, model, desktop, editor
):
    """Autopilot on the pages: the form's mode switch, "Replay" on a succeeded run, the replayed/model
    split in the timeline, and "Replay it with another input" through the form."""
    script_hello(model, editor)

    sign_in(page, desktop_pages_server.url, settings.API_TOKEN, next_path="/runs/new")
    page.get_by_label("Scenario").select_option("notepad-hello")
    # notepad-hello is on autopilot; a scenario that is not starts with the model.
    assert page.get_by_label("Replay a fitting recording when there is one").is_checked()
    page.get_by_label("Scenario").select_option("web-search")
    assert page.get_by_label("The model decides every step").is_checked()
    page.get_by_label("Scenario").select_option("notepad-hello")
    page.get_by_label("The model decides every step").check()
    page.get_by_role("button", name="Start the run").click()
    page.wait_for_url(re.compile(r"/runs/run_[0-9a-f]+$"))
    page.locator("#run-status[data-status=succeeded]").wait_for(timeout=90_000)
    recorded = page.url.rsplit("/", 1)[1]
    assert page.locator("#run-split").inner_text() == "—" and page.locator("#run-split-legend").is_hidden()

    # Replay: the same input again from this recording, into a fresh editor.
    editor.close()
    fresh = desktop.open_editor(name=f"replayed-{recorded}.txt")
    try:
        page.get_by_role("button", name="Replay", exact=True).click()
        page.wait_for_url(lambda url: re.search(r"/runs/run_[0-9a-f]+$", url) and not url.endswith(recorded))
        page.locator("#run-status[data-status=succeeded]").wait_for(timeout=60_000)
        replayed = page.locator("#run-timeline li[data-type=computer_action][data-source=replay]")
        assert replayed.count() == 2 and replayed.first.locator(".source-tag").inner_text() == "replayed"
        page.locator("#run-timeline li[data-type=replay]", has_text="All 2 steps replayed").wait_for()
        assert page.locator("#run-split").inner_text() == "2 replayed"
        assert page.locator("#run-split-legend").is_visible()
        assert page.locator("#run-facts a", has_text=recorded).count() == 1
        assert page.locator("#run-frames figure svg circle").count() == 1  # the replayed click, drawn
        assert saved_text(fresh, desktop, "hello") == "hello", celery_worker_process.tail()
        save_screenshot(page, "run-replayed-desktop")

        # Replay it with another input: the form comes set to replay this recording, its input filled in.
        page.goto(f"{desktop_pages_server.url}/runs/{recorded}")
        page.get_by_role("link", name="Replay it with another input").click()
        page.wait_for_url(re.compile(r"/runs/new\?"))
        assert page.get_by_label("Replay a recording only").is_checked()
        assert recorded in page.locator("#run-mode-hint").inner_text()
        assert page.get_by_label("Text").input_value() == "hello"
        save_screenshot(page, "run-new-replay-desktop")
    finally:
        fresh.close()
