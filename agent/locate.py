"""Finding a recorded target on the live screen: template matching of the image patch around it.

The patch is cut from the screenshot the recorded action aimed on, centred on its point, and looked
for in the live screenshot with OpenCV's normalised cross-correlation (`TM_CCOEFF_NORMED`: 1.0 is a
perfect match, and it ignores a uniform change of brightness), of the grey levels and of their
edges (Sobel gradient magnitude) averaged. Grey levels alone let a long bar or band match almost as
well anywhere along its length; edges alone are thrown by JPEG noise; together they measured
right on every target tried (menus, buttons, centred text, an empty text area of a moved and
resized window). A patch must show something: an
empty text area or a flat background matches everywhere, so the patch grows until it holds enough
detail (a toolbar, a label, a window edge) to be recognised, and a match must be both good and
clearly better than any other place on the screen. Whatever is not found that way is not found: a
replay never clicks on a guess.

Both images are the model's screenshots (the same scaling), in grey: colour adds little to
recognising UI and triples the work.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

# Half the side of the patches tried, smallest first (pixels of the model's screenshot).
HALF_SIZES = (16, 24, 36, 52, 76, 110, 160, 230, 330)
# A patch shows something when this many of its pixels are on an edge (a gradient this steep): a
# count, not a share, so a large patch of background around one small label still counts.
EDGE_LEVEL = 60.0
MIN_DETAIL_PIXELS = 40
# At most this many patches that show something are searched for (the larger ones cost more and
# usually add only background).
MAX_SEARCHES = 5
# A match this good where the target was means the screen did not move there.
IN_PLACE_SCORE = 0.95
# Elsewhere: this good, and better than the runner-up (outside the best one's neighbourhood) by this.
MIN_SCORE = 0.88
MIN_MARGIN = 0.05


@dataclass(frozen=True)
class Found:
    x: float  # the target's point on the live screenshot
    y: float
    score: float
    patch: int  # the half-size of the patch that found it
    in_place: bool  # found where it was recorded (the screen did not move there)


@dataclass(frozen=True)
class Lost:
    score: float  # the best score seen: how close it came (0 when nothing was searched)
    reason: str


def grey(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"))


def edges(pixels: np.ndarray) -> np.ndarray:
    """The gradient magnitude of a grey image: where its lines and letters are."""
    as_float = pixels.astype(np.float32)
    return cv2.magnitude(cv2.Sobel(as_float, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(as_float, cv2.CV_32F, 0, 1, ksize=3))


@dataclass(frozen=True)
class _Patch:
    half: int
    pixels: np.ndarray
    edges: np.ndarray
    left: int  # where the patch was cut from the recorded screenshot
    top: int
    dx: int  # the target's point inside the patch
    dy: int


class Screen:
    """A grey screenshot and its edges (computed once, however many targets are looked for on it)."""

    def __init__(self, image: Image.Image | np.ndarray):
        self.pixels = grey(image) if isinstance(image, Image.Image) else image
        self._edges: np.ndarray | None = None

    @property
    def edges(self) -> np.ndarray:
        if self._edges is None:
            self._edges = edges(self.pixels)
        return self._edges

    @property
    def shape(self) -> tuple[int, ...]:
        return self.pixels.shape

    def likeness(self, patch: _Patch) -> np.ndarray:
        """How much each place of this screen looks like `patch` (-1..1; one value per top-left corner)."""
        return (
            cv2.matchTemplate(self.pixels, patch.pixels, cv2.TM_CCOEFF_NORMED)
            + cv2.matchTemplate(self.edges, patch.edges, cv2.TM_CCOEFF_NORMED)
        ) / 2


def _patches(recorded: Screen, x: int, y: int) -> list[_Patch]:
    height, width = recorded.shape
    found: list[_Patch] = []
    for half in HALF_SIZES:
        left, top = max(0, x - half), max(0, y - half)
        right, bottom = min(width, x + half + 1), min(height, y + half + 1)
        pixels, lines = recorded.pixels[top:bottom, left:right], recorded.edges[top:bottom, left:right]
        if int(np.count_nonzero(lines > EDGE_LEVEL)) >= MIN_DETAIL_PIXELS:
            found.append(_Patch(half, pixels, lines, left, top, x - left, y - top))
        if right - left >= width and bottom - top >= height:
            break  # the whole screenshot: growing further changes nothing
    return found[:MAX_SEARCHES]


def _score_at(live: Screen, patch: _Patch) -> float:
    h, w = patch.pixels.shape
    window = live.pixels[patch.top : patch.top + h, patch.left : patch.left + w]
    if window.shape != patch.pixels.shape:
        return 0.0
    return float(cv2.matchTemplate(window, patch.pixels, cv2.TM_CCOEFF_NORMED)[0, 0])


def locate(recorded: Screen, point: tuple[float, float], live: Screen) -> Found | Lost:
    """Where the target at `point` of the `recorded` screenshot is on the `live` one."""
    x, y = round(point[0]), round(point[1])
    height, width = recorded.shape
    if not (0 <= x < width and 0 <= y < height):
        return Lost(0.0, f"the recorded point ({x}, {y}) lies outside the recorded screenshot")
    patches = _patches(recorded, x, y)
    if not patches:
        return Lost(0.0, "the recorded screen around the target is blank, so there is nothing to recognise it by")
    # Where it was: the common case (nothing moved) costs one comparison.
    if live.shape == recorded.shape:
        for patch in patches[:2]:
            score = _score_at(live, patch)
            if score >= IN_PLACE_SCORE:
                return Found(float(x), float(y), score, patch.half, True)
    best_seen = 0.0
    ambiguous = False
    for patch in patches:
        h, w = patch.pixels.shape
        if h > live.shape[0] or w > live.shape[1]:
            continue
        scores = live.likeness(patch)
        _, best, _, (bx, by) = cv2.minMaxLoc(scores)
        best_seen = max(best_seen, float(best))
        if best < MIN_SCORE:
            continue
        # The runner-up: the best score outside the winner's neighbourhood (a shift of a few pixels
        # matches almost as well and says nothing about a second place).
        radius = max(3, min(h, w) // 4)
        rivals = scores.copy()
        rivals[max(0, by - radius) : by + radius + 1, max(0, bx - radius) : bx + radius + 1] = -1.0
        runner_up = float(rivals.max()) if rivals.size else -1.0
        if best - runner_up < MIN_MARGIN:
            ambiguous = True
            continue  # several places look alike: a larger patch may tell them apart
        return Found(float(bx + patch.dx), float(by + patch.dy), float(best), patch.half, False)
    if ambiguous:
        return Lost(
            best_seen, "the target looks the same as other places on the screen, so which one is meant is unknown"
        )
    return Lost(best_seen, f"the target is not on the screen (best likeness {best_seen:.2f}, needed {MIN_SCORE})")
