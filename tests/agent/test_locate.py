"""Finding a recorded target on the live screen (agent.locate), on synthetic screens: a textured
"widget" on a plain background, moved, gone, doubled, or with nothing around it to recognise."""

import numpy as np
from PIL import Image

from agent.locate import Found, Lost, Screen, locate

RNG = np.random.default_rng(7)
WIDGET = RNG.integers(0, 255, size=(30, 40), dtype=np.uint8)  # 40x30 pixels of texture
OTHER = RNG.integers(0, 255, size=(30, 40), dtype=np.uint8)


def screen(*widgets: tuple[np.ndarray, int, int], size=(800, 600)) -> Screen:
    pixels = np.full((size[1], size[0]), 200, dtype=np.uint8)
    for texture, left, top in widgets:
        h, w = texture.shape
        pixels[top : top + h, left : left + w] = texture
    return Screen(Image.fromarray(pixels))


def test_an_unchanged_screen_finds_the_target_where_it_was():
    recorded = screen((WIDGET, 100, 100), (OTHER, 500, 300))
    found = locate(recorded, (120, 115), screen((WIDGET, 100, 100), (OTHER, 500, 300)))
    assert isinstance(found, Found) and found.in_place and (found.x, found.y) == (120, 115)


def test_a_moved_target_is_found_where_it_went():
    recorded = screen((WIDGET, 100, 100), (OTHER, 500, 300))
    found = locate(recorded, (120, 115), screen((WIDGET, 610, 420), (OTHER, 40, 40)))
    assert isinstance(found, Found) and not found.in_place
    assert (found.x, found.y) == (630, 435) and found.score > 0.95


def test_a_target_that_is_gone_is_lost_with_how_close_anything_came():
    recorded = screen((WIDGET, 100, 100))
    lost = locate(recorded, (120, 115), screen((OTHER, 100, 100)))
    assert isinstance(lost, Lost) and lost.score < 0.88 and "not on the screen" in lost.reason


def test_a_target_shown_twice_on_a_changed_screen_is_not_guessed():
    recorded = screen((WIDGET, 100, 100))
    lost = locate(recorded, (120, 115), screen((WIDGET, 300, 200), (WIDGET, 600, 400)))
    assert isinstance(lost, Lost) and "looks the same" in lost.reason


def test_a_point_in_an_empty_area_is_recognised_by_what_surrounds_it():
    # A click in the middle of a blank area 150 px from the nearest detail: the patch grows until it
    # holds the widget, and the widget's move carries the point along.
    recorded = screen((WIDGET, 100, 100))
    found = locate(recorded, (270, 115), screen((WIDGET, 300, 250)))
    assert isinstance(found, Found) and (found.x, found.y) == (470, 265)


def test_a_screen_with_nothing_on_it_gives_nothing_to_aim_by():
    blank = screen()
    lost = locate(blank, (400, 300), screen((WIDGET, 100, 100)))
    assert isinstance(lost, Lost) and "blank" in lost.reason and lost.score == 0
