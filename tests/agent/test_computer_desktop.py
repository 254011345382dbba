"""The real computer on a real X display, with a real editor: what arrives is what was meant."""

import time

import pytest

from agent.computer import get_computer
from agent.platform import clipboard
from agent.screen import ScreenConfig, _small, changed_pixels, settle
from tests.fixtures.waiting import wait_until

pytestmark = [pytest.mark.desktop, pytest.mark.timeout(120)]


def _saved_text(computer, editor):
    """Ask the editor itself to save (ctrl+s) and read its file: the text as the editor holds it."""
    computer.keypress(["CTRL", "S"])
    return editor.saved_text()


def _click_into(computer, editor_window_title):
    win = next(w for w in computer.windows() if editor_window_title in w["title"])
    computer.click(win["x"] + win["width"] // 2, win["y"] + win["height"] // 2)


@pytest.mark.parametrize("text", ["naïve café — 日本", "a<b>c", "first line\n  second line\tTAB\nthird: ~`|{}"])
def test_it_types_text_exactly_into_the_editor(desktop, editor, text):
    computer = get_computer()
    _click_into(computer, editor.title_hint)
    computer.type(text)
    assert _saved_text(computer, editor) == text


def test_it_leaves_the_users_clipboard_as_it_was(desktop, editor):
    computer = get_computer()
    clipboard.write_clipboard("the user's own clipboard ✓")
    _click_into(computer, editor.title_hint)
    computer.type("hello")
    assert _saved_text(computer, editor) == "hello"
    # Put back on a thread, off the step: by itself, shortly after.
    wait_until(lambda: clipboard.read_clipboard() == "the user's own clipboard ✓", timeout=10, what="the restore")
    computer.finish_typing()
    assert clipboard.read_clipboard() == "the user's own clipboard ✓"


def test_typing_twice_in_a_row_pastes_each_text_and_an_action_after_it_finds_the_users_clipboard(desktop, editor):
    computer = get_computer()
    clipboard.write_clipboard("mine")
    _click_into(computer, editor.title_hint)
    computer.type("one ")
    computer.type("two ")  # while the first paste's restore may still be under way
    # Any action after typing (a ctrl+v of the user's clipboard, say) waits for the restore first.
    assert _saved_text(computer, editor) == "one two "
    assert clipboard.read_clipboard() == "mine"


def test_a_copy_the_user_made_between_two_typings_is_what_comes_back(desktop, editor):
    computer = get_computer()
    clipboard.write_clipboard("before")
    _click_into(computer, editor.title_hint)
    computer.type("a")
    computer.finish_typing()
    clipboard.write_clipboard("copied in between")  # another owner: our restore is no longer there
    computer.type("b")
    computer.finish_typing()
    assert _saved_text(computer, editor) == "ab"
    assert clipboard.read_clipboard() == "copied in between"


def test_reading_the_window_right_after_typing_finds_the_text_and_keeps_the_users_clipboard(desktop, editor):
    from agent.checks import focused_window_text

    computer = get_computer()
    clipboard.write_clipboard("the user's")
    _click_into(computer, editor.title_hint)
    computer.type("checked text")
    # At once, while the typing's clipboard restore may still be running on its thread.
    assert focused_window_text(computer) == "checked text"
    computer.finish_typing()
    assert clipboard.read_clipboard() == "the user's"


def test_a_failed_text_check_says_what_the_window_holds_instead(desktop, editor):
    from agent.checks import checks_evaluate

    computer = get_computer()
    _click_into(computer, editor.title_hint)
    computer.type("other words")
    failures = checks_evaluate([{"textInWindow": "expected words"}], computer)
    assert failures == ["the text 'expected words' is not in the focused window (it holds 'other words')"]


def test_it_lists_the_editor_window_with_geometry_and_focus(desktop, editor):
    windows = get_computer().windows()
    mine = [w for w in windows if editor.title_hint in w["title"]]
    assert mine and mine[0]["focused"] and mine[0]["width"] > 100 and mine[0]["height"] > 100


def test_settle_returns_on_quiet_even_with_a_blinking_caret(desktop, editor):
    computer = get_computer()
    _click_into(computer, editor.title_hint)  # the caret blinks in the focused editor
    config = ScreenConfig(settle_max_s=5.0)
    results = [settle(computer.screenshot, config) for _ in range(5)]
    assert all(r.quiet for r in results), [(r.quiet, r.waited_s, r.grabs) for r in results]


class _Spy:
    """The real screen reports, and what settling did with them."""

    def __init__(self, reports):
        self.reports, self.drawn, self.missed_called = reports, 0, False

    def wait(self, timeout_s):
        drawn = self.reports.wait(timeout_s)
        self.drawn += drawn
        return drawn

    def drawn_now(self):
        drawn = self.reports.drawn_now()
        self.drawn += drawn
        return drawn

    def missed(self):
        self.missed_called = True
        self.reports.missed()

    def close(self):
        self.reports.close()


def test_settling_on_the_x_servers_reports_returns_the_typed_text(desktop, editor):
    computer = get_computer()
    _click_into(computer, editor.title_hint)
    computer.finish_typing()
    config = ScreenConfig()
    reports = computer.watch_screen()
    assert reports is not None, "Xvfb reports drawing (the DAMAGE extension)"
    spy = _Spy(reports)
    try:
        before = computer.screenshot()
        computer.type("reported by the server")
        settled = settle(computer.screenshot, config, before=before, changes=spy)
    finally:
        spy.close()
    assert spy.drawn > 0 and not spy.missed_called
    assert changed_pixels(_small(before), _small(settled.grabbed)) > config.settle_ignore_pixels
    # What settling returned is the screen as it stays (a blinking caret aside).
    time.sleep(0.5)
    later = computer.screenshot()
    assert changed_pixels(_small(settled.grabbed), _small(later)) <= config.settle_ignore_pixels


def test_it_releases_held_keys_and_buttons(desktop, editor):
    computer = get_computer()
    computer._hold(["SHIFT"])  # as if an action had been interrupted while holding shift
    computer.release_all()
    assert computer._held_keys == []
    _click_into(computer, editor.title_hint)
    computer.type("x")
    assert _saved_text(computer, editor) == "x"  # not "X": shift is no longer down


def test_screen_reports_from_a_display_that_went_away_report_nothing_and_are_not_offered_again(desktop):
    from agent.platform import screen_changes
    from tests.fixtures.desktop import start_desktop

    other = start_desktop(320, 200)
    try:
        reports = screen_changes.watch(other.display)
        assert reports is not None
    finally:
        other.stop()
    assert reports.wait(0.5) == 0  # settling then grabs, and the grab says the display is gone
    reports.close()
    assert screen_changes.watch(other.display) is None
