"""Screenshots for the model and the way back: scaling, encoding, coordinate mapping, settling.

A `ModelShot` remembers the scale it was made with, so every coordinate the model returns is mapped
through the screenshot the model actually saw (not through today's screen size).
"""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import xxhash
from PIL import Image, ImageChops

from agent.errors import Stopped

# Each capture allocates ~10 MB of fresh buffers; with Pillow's default (no block cache) every frame
# pays for mmap + page faults. Keeping freed blocks made the capture loop 2-3x faster (measured).
Image.core.set_blocks_max(32)


@dataclass(frozen=True)
class ScreenConfig:
    max_long_edge: int = 1600  # the model sees at most this many pixels on the long side
    image_format: str = "png"  # "png" (lossless) or "jpeg" (much faster to encode, slightly blurry)
    jpeg_quality: int = 85
    settle_quiet_s: float = 0.03  # the screen must stay unchanged this long after an action batch
    settle_poll_s: float = 0.008
    settle_max_s: float = 2.0  # cap: animations or video never "settle"
    settle_ignore_pixels: int = 12  # changed pixels (on a 1/4-size grey frame) still counted as "unchanged"
    keep_images: int = 3  # screenshots kept in the history resent to the model


@dataclass(frozen=True)
class Geometry:
    """What a capture covers, in physical pixels of the virtual screen (all monitors)."""

    left: int
    top: int
    width: int
    height: int
    input_scale: float = 1.0  # physical pixels per input-API unit (2.0 on a Retina Mac, 1.0 on X11)


@dataclass(frozen=True)
class ModelShot:
    data: bytes
    mime: str
    width: int  # size sent to the model
    height: int
    scale_x: float  # captured pixels per sent pixel
    scale_y: float
    geometry: Geometry

    def data_url(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"

    def to_screen(self, x: float | str, y: float | str) -> tuple[int, int]:
        """Model coordinates (in this screenshot) → input coordinates on the real screen, clamped."""
        g = self.geometry
        px = min(max(round(float(x) * self.scale_x), 0), g.width - 1)
        py = min(max(round(float(y) * self.scale_y), 0), g.height - 1)
        # pyautogui's fail-safe fires on the exact corner pixels and poisons the next call; a model
        # aiming at a corner means "that corner", one pixel inwards is the same target.
        if px in (0, g.width - 1) and py in (0, g.height - 1):
            px = 1 if px == 0 else g.width - 2
        return round((g.left + px) / g.input_scale), round((g.top + py) / g.input_scale)


def target_size(width: int, height: int, max_long_edge: int) -> tuple[int, int]:
    long_edge = max(width, height)
    if long_edge <= max_long_edge:
        return width, height
    factor = max_long_edge / long_edge
    return max(1, round(width * factor)), max(1, round(height * factor))


def prepare(image: Image.Image, geometry: Geometry, config: ScreenConfig) -> ModelShot:
    """Scale a capture for the model (aspect ratio kept) and encode it."""
    w, h = target_size(image.width, image.height, config.max_long_edge)
    if (w, h) != image.size:
        # BOX averages whole source pixels: about as legible as BILINEAR for UI text, cheaper.
        image = image.resize((w, h), Image.Resampling.BOX)
    buf = io.BytesIO()
    if config.image_format == "jpeg":
        image.convert("RGB").save(buf, "JPEG", quality=config.jpeg_quality, subsampling=0)
        mime = "image/jpeg"
    else:
        # Level 1: a third of the default's time for a few percent more bytes.
        image.save(buf, "PNG", compress_level=1)
        mime = "image/png"
    return ModelShot(
        data=buf.getvalue(),
        mime=mime,
        width=w,
        height=h,
        scale_x=geometry.width / w,
        scale_y=geometry.height / h,
        geometry=geometry,
    )


def _small(frame: Image.Image) -> Image.Image:
    return frame.convert("L").reduce(4)


def changed_pixels(a: Image.Image, b: Image.Image, threshold: int = 24) -> int:
    """How many pixels of two small grey frames differ noticeably (0 when identical)."""
    if a.size != b.size:
        return a.width * a.height
    diff = ImageChops.difference(a, b)
    if diff.getbbox() is None:
        return 0
    return diff.point(lambda v: 255 if v > threshold else 0).histogram()[255]


@dataclass
class Settled:
    frame: Image.Image
    quiet: bool  # False when the cap was hit (the screen kept changing)
    waited_s: float
    polls: int


def settle(
    grab: Callable[[], object],
    config: ScreenConfig,
    should_stop: Callable[[], bool] = lambda: False,
    clock: Callable[[], float] = time.monotonic,
) -> Settled:
    """Poll frames until the screen has not changed for `settle_quiet_s`, or `settle_max_s` passed.

    `grab` returns a PIL image, or a capture with `.image` (and optionally `.raw` bytes: identical
    raw frames, the common case, are told apart by a hash without building an image).
    A blinking caret or a ticking clock changes a few pixels twice a second; changes up to
    `settle_ignore_pixels` (on a quarter-size frame) do not count, so such a screen still settles.
    """
    start = clock()
    frame = grab()
    prev_hash, prev_small = _hash(frame), None
    last_change = start
    polls = 1
    while True:
        now = clock()
        if now - last_change >= config.settle_quiet_s:
            return Settled(_image(frame), True, now - start, polls)
        if now - start >= config.settle_max_s:
            return Settled(_image(frame), False, now - start, polls)
        time.sleep(config.settle_poll_s)
        if should_stop():
            raise Stopped()
        previous, frame = frame, grab()
        polls += 1
        digest = _hash(frame)
        if digest is not None and digest == prev_hash:
            continue
        prev_hash = digest
        if prev_small is None:
            prev_small = _small(_image(previous))
        small = _small(_image(frame))
        if changed_pixels(prev_small, small) > config.settle_ignore_pixels:
            last_change = clock()
        prev_small = small


def _image(frame: Any) -> Image.Image:
    return frame if isinstance(frame, Image.Image) else cast(Image.Image, frame.image)


def _hash(frame: Any) -> int | None:
    raw = getattr(frame, "raw", None)
    return xxhash.xxh3_64_intdigest(raw) if raw is not None else None
