import pytest
from PIL import Image

from agent.platform.keys import UnknownKey, map_key, map_keys
from agent.screen import Geometry, ScreenConfig, changed_pixels, prepare, target_size

pytestmark = pytest.mark.portable


@pytest.mark.parametrize(
    "model_name, expected",
    [
        ("CTRL", "ctrl"),
        ("CONTROL", "ctrl"),
        ("ENTER", "enter"),
        ("Return", "enter"),
        ("ArrowLeft", "left"),
        ("ARROWDOWN", "down"),
        ("Super", "win"),
        ("META", "win"),
        ("CMD", "win"),
        ("ESC", "esc"),
        ("Escape", "esc"),
        ("BACKSPACE", "backspace"),
        ("Page_Up", "pageup"),
        ("PageDown", "pagedown"),
        ("SPACE", "space"),
        ("TAB", "tab"),
        ("F5", "f5"),
        ("A", "a"),
        ("z", "z"),
        ("/", "/"),
        ("KeyQ", "q"),
        ("OPTION", "alt"),
        ("DELETE", "delete"),
    ],
)
def test_it_maps_model_key_names_to_platform_names(model_name, expected):
    assert map_key(model_name) == expected


def test_it_maps_a_combination_in_order():
    assert map_keys(["CTRL", "SHIFT", "T"]) == ["ctrl", "shift", "t"]
    assert map_keys("ctrl+s") == ["ctrl", "s"]


def test_it_rejects_an_unknown_key_name():
    with pytest.raises(UnknownKey):
        map_key("HYPERDRIVE")


def test_it_keeps_a_small_screen_at_full_size():
    assert target_size(1280, 800, 1600) == (1280, 800)


def test_it_scales_the_long_edge_down_keeping_the_aspect_ratio():
    assert target_size(3840, 2160, 1600) == (1600, 900)
    assert target_size(1080, 1920, 1600) == (900, 1600)


def _shot(width, height, config=None, geometry=None):
    geometry = geometry or Geometry(0, 0, width, height)
    return prepare(Image.new("RGB", (width, height), "white"), geometry, config or ScreenConfig())


def test_it_maps_model_coordinates_back_through_the_screenshots_own_scale():
    shot = _shot(3840, 2160)
    assert (shot.width, shot.height) == (1600, 900)
    assert shot.to_screen(800, 450) == (1920, 1080)
    assert shot.to_screen(100, 50) == (240, 120)


def test_it_clamps_coordinates_to_the_screen_and_away_from_the_fail_safe_corners():
    shot = _shot(1280, 800)
    assert shot.to_screen(5000, 400) == (1279, 400)
    assert shot.to_screen(-20, 300) == (0, 300)
    assert shot.to_screen(0, 0) == (1, 0)
    assert shot.to_screen(99999, 99999) == (1278, 799)


def test_it_offsets_coordinates_for_a_monitor_layout_left_of_the_origin():
    # Two monitors side by side, the virtual screen starting at x=-1920 (as mss reports such a layout).
    shot = _shot(3840, 1080, ScreenConfig(max_long_edge=1920), Geometry(-1920, 0, 3840, 1080))
    assert shot.to_screen(480, 270) == (-960, 540)
    assert shot.to_screen(1440, 270) == (960, 540)


def test_it_maps_to_logical_points_on_a_hidpi_screen():
    shot = _shot(2880, 1800, ScreenConfig(max_long_edge=1440), Geometry(0, 0, 2880, 1800, input_scale=2.0))
    assert (shot.width, shot.height) == (1440, 900)
    assert shot.to_screen(720, 450) == (720, 450)


def test_it_encodes_jpeg_or_png_by_setting():
    assert _shot(64, 48, ScreenConfig(image_format="jpeg")).mime == "image/jpeg"
    png = _shot(64, 48)
    assert png.mime == "image/png" and png.data.startswith(b"\x89PNG")
    assert png.data_url().startswith("data:image/png;base64,")


def test_a_caret_sized_change_is_not_a_significant_change():
    a = Image.new("L", (320, 200), 255)
    b = a.copy()
    b.paste(0, (100, 50, 101, 55))  # a caret, at quarter size
    assert 0 < changed_pixels(a, b) <= ScreenConfig().settle_ignore_pixels
    c = a.copy()
    c.paste(0, (10, 10, 80, 40))  # a window appearing
    assert changed_pixels(a, c) > ScreenConfig().settle_ignore_pixels
