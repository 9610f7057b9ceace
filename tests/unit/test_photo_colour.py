"""Colour casts: grey-world gains, and the hand finder's search of the white-balanced photo."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from asl_recognition.photo import find_hand, preprocess_photo
from asl_recognition.photo._synthetic import synthetic_hand_photo
from asl_recognition.photo.colour import (
    EXPOSURE_TARGET,
    MAX_EXPOSURE,
    MAX_GAIN,
    NEUTRAL,
    apply_gains,
    exposure_gain,
    white_balance_gains,
)
from asl_recognition.photo.localize import HandBox, hand_mask_in_box
from asl_recognition.photo.normalize import MIN_HAND_PIXELS
from asl_recognition.photo.skin import _box_in, _more_complete

#: Tungsten-like (warm) and shade-like (cool) casts strong enough to push the drawn hand out of
#: the fixed skin chroma range.
CASTS = {"warm": (1.15, 0.85, 0.6), "cool": (0.75, 1.0, 1.15)}


def _cast(photo: np.ndarray, gains: tuple[float, float, float]) -> np.ndarray:
    return np.asarray(np.clip(np.rint(photo * np.asarray(gains)), 0, 255), dtype=np.uint8)


def test_gains_neutralise_a_cast_and_ignore_clipped_and_black_pixels() -> None:
    card = np.full((20, 20, 3), (180, 150, 100), np.uint8)  # a grey card under warm light
    card[:10, :5] = 255  # blown-out window: no colour information
    card[10:, :5] = 3  # black shadow: noise
    gains = white_balance_gains(card)
    assert gains[1] == 1.0
    assert gains[0] == pytest.approx(150 / 180) and gains[2] == pytest.approx(150 / 100)
    balanced = apply_gains(card, gains)
    assert balanced[15, 15].tolist() == [150, 150, 150]
    assert balanced[0, 0].tolist() == [212, 255, 255]  # clipped pixels are scaled like the rest


def test_gains_are_bounded_for_one_colour_scenes_and_neutral_without_usable_pixels() -> None:
    red = np.full((16, 16, 3), (200, 60, 20), np.uint8)
    low, _, high = white_balance_gains(red)
    assert low == pytest.approx(1 / MAX_GAIN) and high == pytest.approx(MAX_GAIN)
    assert white_balance_gains(np.full((16, 16, 3), 255, np.uint8)) == NEUTRAL
    assert white_balance_gains(np.zeros((4, 4, 3), np.uint8)) == NEUTRAL


def test_apply_gains_returns_a_copy() -> None:
    img = np.full((2, 2, 3), 7, np.uint8)
    out = apply_gains(img, NEUTRAL)
    out[0, 0] = 0
    assert img[0, 0].tolist() == [7, 7, 7]


@pytest.mark.parametrize("cast", sorted(CASTS))
def test_hand_under_a_colour_cast_is_found_through_white_balance(cast: str) -> None:
    photo, _ = synthetic_hand_photo()
    expected = find_hand(photo, detector="skin")
    assert expected is not None and expected.gains == NEUTRAL  # found as taken: no correction
    tinted = _cast(photo, CASTS[cast])
    assert _box_in(tinted[::2, ::2], 0.5, NEUTRAL, lambda: []) is None  # the skin range alone loses the hand
    box = find_hand(tinted, detector="skin")
    assert box is not None and box.gains != NEUTRAL
    assert dataclasses.replace(box, gains=NEUTRAL) == expected
    # the contrast step sees the hand under the same correction: the hand's mask, not the
    # cast wall's or nothing
    truth = hand_mask_in_box(photo, expected)
    assert truth.sum() >= MIN_HAND_PIXELS
    assert (hand_mask_in_box(tinted, box) == truth).mean() > 0.97
    assert (hand_mask_in_box(tinted, dataclasses.replace(box, gains=NEUTRAL)) == truth).mean() < 0.8
    assert preprocess_photo(tinted, detector="skin").hand == box


def test_a_photo_without_skin_stays_without_a_hand_after_balancing() -> None:
    wall = np.full((120, 160, 3), (120, 140, 200), np.uint8)  # a blue wall: grey-world makes it grey
    assert find_hand(wall, detector="skin") is None


def test_hand_on_a_one_colour_wall_keeps_the_photo_as_taken() -> None:
    photo, _ = synthetic_hand_photo(frame=False)
    wall = np.all(np.abs(photo.astype(int) - (205, 208, 214)) < 15, axis=-1)
    photo[wall] = (90, 160, 90)  # a green wall: grey-world would turn it grey and the hand magenta
    assert white_balance_gains(photo) != NEUTRAL
    box = find_hand(photo, detector="skin")
    assert box is not None and box.gains == NEUTRAL
    assert box.left <= 150 - 24 and box.right >= 150 + 24


def _box(radius: float, gains: tuple[float, float, float] = NEUTRAL) -> HandBox:
    return HandBox(left=0, top=0, right=10, bottom=10, palm=(5, 5), palm_radius=radius, gains=gains)


def test_the_balanced_search_wins_only_with_the_only_or_a_larger_palm() -> None:
    warm = (0.8, 1.0, 1.3)
    assert _more_complete(None, None) is None
    assert _more_complete(_box(4), None) == _box(4)
    assert _more_complete(None, _box(4, warm)) == _box(4, warm)
    assert _more_complete(_box(4), _box(9, warm)) == _box(9, warm)  # fragments as taken
    assert _more_complete(_box(9), _box(4, warm)) == _box(9)
    assert _more_complete(_box(9), _box(9, warm)) == _box(9)  # ties keep the photo as taken


def test_underexposed_hand_is_found_through_exposure() -> None:
    photo, _ = synthetic_hand_photo()
    expected = find_hand(photo, detector="skin")
    assert expected is not None
    dark = _cast(photo, (0.2, 0.2, 0.2))  # ~2.3 stops under: the skin's chroma shrinks with it
    as_taken = _box_in(dark[::2, ::2], 0.5, NEUTRAL, lambda: [])
    assert as_taken is None or as_taken.palm_radius < expected.palm_radius / 2  # a fragment
    box = find_hand(dark, detector="skin")
    assert box is not None and min(box.gains) > 1.5  # brightened
    assert abs(box.left - expected.left) <= 2 and abs(box.top - expected.top) <= 2
    assert box.side == expected.side


def test_exposure_only_brightens_underexposed_photos() -> None:
    assert exposure_gain(np.full((8, 8, 3), 180, np.uint8)) == 1.0
    dim = np.full((10, 10, 3), 120, np.uint8)
    assert exposure_gain(dim) == pytest.approx(EXPOSURE_TARGET / 120, rel=1e-3)
    assert exposure_gain(np.zeros((4, 4, 3), np.uint8)) == MAX_EXPOSURE
