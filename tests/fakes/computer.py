"""A computer with no screen: records what it was asked to do (for engine tests that need no X)."""

from PIL import Image

from agent.computer import Capture
from agent.screen import Geometry


class FakeComputer:
    def __init__(self, width: int = 1280, height: int = 800):
        self.width, self.height = width, height
        self.actions: list[tuple] = []
        self.released = 0
        self.on_action = None  # optional hook(action_tuple), e.g. to request a stop mid-batch

    def _record(self, *action):
        self.actions.append(action)
        if self.on_action:
            self.on_action(action)

    def screenshot(self) -> Capture:
        return Capture(
            Geometry(0, 0, self.width, self.height), image=Image.new("RGB", (self.width, self.height), "white")
        )

    def click(self, x, y, button="left", keys=()):
        self._record("click", x, y, button, tuple(keys))

    def double_click(self, x, y, keys=()):
        self._record("double_click", x, y, tuple(keys))

    def drag(self, path, keys=()):
        self._record("drag", tuple(path), tuple(keys))

    def move(self, x, y, keys=()):
        self._record("move", x, y, tuple(keys))

    def scroll(self, x, y, scroll_x, scroll_y, keys=()):
        self._record("scroll", x, y, scroll_x, scroll_y, tuple(keys))

    def keypress(self, keys):
        self._record("keypress", tuple(keys))

    def type(self, text):
        self._record("type", text)

    def windows(self):
        return [
            {
                "title": "notes.txt - Mousepad",
                "app": "mousepad",
                "x": 0,
                "y": 0,
                "width": 800,
                "height": 600,
                "focused": True,
            }
        ]

    def release_all(self):
        self.released += 1

    def watch_screen(self):
        return None  # settling polls the (unchanging) fake screen
