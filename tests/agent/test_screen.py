"""What the model is shown: the PNG encoder, the raw-capture path, and settling with the prepared-ahead frame."""

import io

import numpy as np
import pytest
from PIL import Image

from agent.computer import Capture
from agent.screen import Geometry, PrepareAhead, ScreenConfig, _hash, prepare, settle

pytestmark = pytest.mark.portable

GEOMETRY = Geometry(0, 0, 320, 200)


def _decoded(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "PNG" and image.mode == "RGB"
    return np.asarray(image)


def _png(rgb: np.ndarray) -> bytes:
    """The model's PNG of an image shown as it is (no scaling)."""
    h, w, _ = rgb.shape
    return prepare(Image.fromarray(rgb), Geometry(0, 0, w, h), ScreenConfig(max_long_edge=max(h, w))).data


def _capture(rgb: np.ndarray) -> Capture:
    """A capture as mss hands it over: BGRX bytes, the padding byte set to junk."""
    h, w, _ = rgb.shape
    bgrx = np.dstack([rgb[..., ::-1], np.full((h, w, 1), 77, np.uint8)])
    return Capture(Geometry(0, 0, w, h), raw=bytearray(bgrx.tobytes()), size=(w, h))


@pytest.mark.parametrize("height, width", [(1, 1), (2, 3), (7, 5), (1, 2000), (900, 1600)])
def test_the_png_encoder_gives_pillow_back_every_pixel(height, width):
    rng = np.random.default_rng(height * width)
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    assert np.array_equal(_decoded(_png(rgb)), rgb)


def test_a_flat_screen_compresses_to_a_small_png():
    rgb = np.full((900, 1600, 3), 240, np.uint8)
    rgb[100:120, 50:900] = (20, 30, 200)
    data = _png(rgb)
    assert len(data) < 60_000
    assert np.array_equal(_decoded(data), rgb)


@pytest.mark.parametrize("size", [(1920, 1080), (1366, 768), (1280, 800), (333, 211)])
def test_a_raw_capture_and_its_image_are_shown_alike_and_scaled_like_one_box_resize(size):
    width, height = size
    rng = np.random.default_rng(width)
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    config = ScreenConfig()
    from_raw = prepare(_capture(rgb), Geometry(0, 0, width, height), config)
    from_image = prepare(Image.fromarray(rgb), Geometry(0, 0, width, height), config)
    assert from_raw.data == from_image.data
    expected = Image.fromarray(rgb)
    if max(size) > config.max_long_edge:
        expected = expected.resize((from_raw.width, from_raw.height), Image.Resampling.BOX)
    # Two bands scaled apart: the seam rows may differ by one level from a whole-frame resize.
    diff = np.abs(_decoded(from_raw.data).astype(int) - np.asarray(expected).astype(int))
    assert diff.max() <= 1


def test_jpeg_from_a_raw_capture_keeps_the_colours():
    rgb = np.zeros((200, 320, 3), np.uint8)
    rgb[:, :160] = (250, 10, 10)  # red left half, blue right half: a swapped channel would show
    rgb[:, 160:] = (10, 10, 250)
    shot = prepare(_capture(rgb), GEOMETRY, ScreenConfig(image_format="jpeg"))
    decoded = np.asarray(Image.open(io.BytesIO(shot.data)).convert("RGB")).astype(int)
    assert shot.mime == "image/jpeg"
    assert np.abs(decoded[100, 40] - (250, 10, 10)).max() < 20
    assert np.abs(decoded[100, 280] - (10, 10, 250)).max() < 20


def _frames(*counts_and_colours):
    """A grab that returns `count` captures of each colour in turn, the last colour forever after."""
    sequence = [colour for count, colour in counts_and_colours for _ in range(count)]
    grabs = []

    def grab():
        colour = sequence[min(len(grabs), len(sequence) - 1)]
        grabs.append(colour)
        rgb = np.full((200, 320, 3), 255, np.uint8)
        rgb[50:150, 50:250] = colour
        return _capture(rgb)

    return grab


def test_settle_never_returns_the_frame_from_before_the_change():
    config = ScreenConfig(settle_quiet_s=0.03, settle_poll_s=0.001, settle_max_s=5.0)
    # The pre-action frame is seen long enough to be prepared ahead, then the effect appears.
    grab = _frames((3, (255, 255, 255)), (1, (128, 128, 128)), (1, (0, 0, 0)))
    ahead = PrepareAhead(lambda cap: prepare(cap, cap.geometry, config))
    settled = settle(grab, config, on_still=ahead.offer)
    shot = ahead.shot(settled.digest) or prepare(settled.grabbed, GEOMETRY, config)
    assert settled.quiet
    assert tuple(_decoded(shot.data)[100, 160]) == (0, 0, 0)
    assert tuple(np.asarray(settled.frame)[100, 160]) == (0, 0, 0)


def test_a_frame_prepared_ahead_is_only_used_for_identical_pixels():
    config = ScreenConfig()
    ahead = PrepareAhead(lambda cap: prepare(cap, cap.geometry, config))
    white, black = _frames((1, (255, 255, 255))), _frames((1, (0, 0, 0)))
    offered = white()
    ahead.offer(offered)
    later_same, other = white(), black()
    assert later_same.raw == offered.raw
    assert ahead.shot(_hash(other)) is None
    shot = ahead.shot(_hash(later_same))
    assert shot is not None and shot.data == prepare(later_same, later_same.geometry, config).data


class _Clock:
    """Fake time that moves `step` per look (and as far as a fake report wait says): settling becomes a
    function of the frames alone."""

    def __init__(self, step: float = 0.005):
        self.now, self.step = 0.0, step

    def __call__(self):
        self.now += self.step
        return self.now


def _screen_changing_at(clock, seconds, before, after):
    return lambda: _capture(after if clock.now >= seconds else before)


WHITE = np.full((200, 320, 3), 255, np.uint8)
DIALOG = WHITE.copy()
DIALOG[40:160, 60:260] = (30, 60, 90)


def test_settle_waits_for_an_effect_that_shows_later_than_the_quiet_window():
    config = ScreenConfig(settle_quiet_s=0.03, settle_no_change_s=0.1, settle_poll_s=0)
    clock = _Clock()
    grab = _screen_changing_at(clock, 0.06, WHITE, DIALOG)  # later than 30 ms, sooner than 100 ms
    settled = settle(grab, config, clock=clock, before=_capture(WHITE))
    assert settled.quiet and np.array_equal(np.asarray(settled.frame), DIALOG)


def test_settle_does_not_wait_for_a_change_it_already_sees_in_the_first_frame():
    config = ScreenConfig(settle_quiet_s=0.03, settle_no_change_s=10.0, settle_poll_s=0, settle_max_s=20.0)
    clock = _Clock()
    settled = settle(lambda: _capture(DIALOG), config, clock=clock, before=_capture(WHITE))
    assert settled.quiet and settled.waited_s < config.settle_no_change_s  # fake seconds, not wall time


def test_settle_gives_up_waiting_for_an_effect_that_never_shows():
    config = ScreenConfig(settle_quiet_s=0.03, settle_no_change_s=0.1, settle_poll_s=0)
    clock = _Clock()
    settled = settle(lambda: _capture(WHITE), config, clock=clock, before=_capture(WHITE))
    assert settled.quiet and settled.waited_s >= config.settle_no_change_s


class _Reports:
    """A display server's change reports, scripted: (second, pixels drawn). Waiting moves `clock`."""

    def __init__(self, clock, *reports):
        self.clock = clock
        self.pending = sorted(reports)
        self.missed_called = False
        self.closed = False

    def wait(self, timeout_s):
        if not self.pending or self.pending[0][0] > self.clock.now + timeout_s:
            self.clock.now += timeout_s
            return 0
        second, pixels = self.pending.pop(0)
        self.clock.now = max(self.clock.now, second)
        return pixels

    def drawn_now(self):
        return self.wait(0)

    def missed(self):
        self.missed_called = True

    def close(self):
        self.closed = True


def _screen_at(clock, *changes):
    """A grab showing, at each fake second, the image of the last change at or before it."""
    grabs = []

    def grab():
        image = WHITE
        for second, shown in changes:
            if clock.now >= second:
                image = shown
        grabs.append(clock.now)
        return _capture(image)

    return grab, grabs


DIALOG_TYPED = DIALOG.copy()
DIALOG_TYPED[60:80, 80:200] = (250, 250, 250)
REPORTS_CONFIG = ScreenConfig(settle_quiet_s=0.03, settle_no_change_s=0.1, settle_poll_s=0.004)


def test_on_reports_settle_grabs_once_after_a_late_effect_and_offers_that_frame():
    clock = _Clock(step=0.001)
    grab, grabs = _screen_at(clock, (0.06, DIALOG))
    offered = []
    reports = _Reports(clock, (0.06, 20_000))
    settled = settle(
        grab, REPORTS_CONFIG, clock=clock, on_still=offered.append, before=_capture(WHITE), changes=reports
    )
    assert settled.quiet and np.array_equal(np.asarray(settled.frame), DIALOG)
    assert len(grabs) == 1 and offered == [settled.grabbed]  # the one grab, prepared while settle waited
    assert 0.09 <= settled.waited_s < 0.1  # the effect at 60 ms, then 30 ms with no report
    assert not reports.missed_called


def test_on_reports_a_change_after_the_grab_is_grabbed_again():
    clock = _Clock(step=0.001)
    grab, grabs = _screen_at(clock, (0.01, DIALOG), (0.025, DIALOG_TYPED))
    reports = _Reports(clock, (0.01, 20_000), (0.025, 3_000))
    settled = settle(grab, REPORTS_CONFIG, clock=clock, before=_capture(WHITE), changes=reports)
    assert np.array_equal(np.asarray(settled.frame), DIALOG_TYPED)
    assert len(grabs) == 2 and grabs[0] < 0.025 <= grabs[1]


def test_on_reports_a_blinking_caret_is_no_effect():
    clock = _Clock(step=0.001)
    grab, _ = _screen_at(clock)
    reports = _Reports(clock, (0.01, 3 * 18), (0.05, 3 * 18))  # a 3×18 caret, drawn twice
    settled = settle(grab, REPORTS_CONFIG, clock=clock, before=_capture(WHITE), changes=reports)
    assert settled.quiet and settled.waited_s >= REPORTS_CONFIG.settle_no_change_s
    assert not reports.missed_called


def test_a_change_nobody_reported_distrusts_the_reports_and_settles_by_polling():
    clock = _Clock(step=0.001)
    grab, _ = _screen_at(clock, (0.0, DIALOG))  # drawn past the server's reports (a compositor, say)
    reports = _Reports(clock)
    settled = settle(grab, REPORTS_CONFIG, clock=clock, before=_capture(WHITE), changes=reports)
    assert reports.missed_called
    assert settled.quiet and np.array_equal(np.asarray(settled.frame), DIALOG)


class _ReportOnItsWay(_Reports):
    """The server drew, and its report was still on the way when settling stopped waiting: only the
    round trip of `drawn_now()` brings it in."""

    def wait(self, timeout_s):
        self.clock.now += timeout_s
        return 0

    def drawn_now(self):
        return 20_000


def test_a_report_still_on_its_way_is_not_taken_for_a_missed_one():
    clock = _Clock(step=0.001)
    grab, _ = _screen_at(clock, (0.099, DIALOG))
    reports = _ReportOnItsWay(clock)
    settled = settle(grab, REPORTS_CONFIG, clock=clock, before=_capture(WHITE), changes=reports)
    assert not reports.missed_called
    assert np.array_equal(np.asarray(settled.frame), DIALOG)


def test_a_stop_ends_settling_on_reports():
    from agent.errors import Stopped

    clock = _Clock(step=0.001)
    grab, _ = _screen_at(clock)
    with pytest.raises(Stopped):
        settle(grab, REPORTS_CONFIG, clock=clock, should_stop=lambda: True, changes=_Reports(clock))


def test_on_reports_a_caret_sized_report_after_the_grab_is_grabbed_again_without_waiting_longer():
    clock = _Clock(step=0.001)
    grab, grabs = _screen_at(clock, (0.01, DIALOG), (0.02, DIALOG_TYPED))
    reports = _Reports(clock, (0.01, 20_000), (0.02, 54))  # the effect, then the caret moving
    settled = settle(grab, REPORTS_CONFIG, clock=clock, before=_capture(WHITE), changes=reports)
    assert np.array_equal(np.asarray(settled.frame), DIALOG_TYPED)
    assert len(grabs) == 2 and settled.waited_s < 0.045  # 30 ms after the effect, not after the caret


def test_caret_sized_reports_and_a_changed_screen_do_not_distrust_the_reports():
    clock = _Clock(step=0.001)
    grab, _ = _screen_at(clock, (0.01, DIALOG))
    reports = _Reports(clock, (0.01, 54), (0.03, 54))
    settled = settle(grab, REPORTS_CONFIG, clock=clock, before=_capture(WHITE), changes=reports)
    assert not reports.missed_called  # the reports work: what they said was small
    assert np.array_equal(np.asarray(settled.frame), DIALOG)
