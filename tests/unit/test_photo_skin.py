"""The skin localiser on drawn photos: the box covers the hand, skips the arm and the frame."""

from __future__ import annotations

import numpy as np
import pytest

from asl_recognition.photo import find_hand, skin_mask
from asl_recognition.photo._synthetic import (
    PALE_SKIN,
    SKIN,
    WALL,
    WOOD,
    add_speckled_wall,
    synthetic_edge_on_photo,
    synthetic_hand_photo,
)
from asl_recognition.photo.skin import HAND_REACH, _drop_background_colour, _ycc


def _contains(box: object, row: float, col: float) -> bool:
    return box.top <= row < box.bottom and box.left <= col < box.right  # type: ignore[attr-defined]


def test_skin_mask_separates_skin_from_wall_and_ignores_darkness() -> None:
    img = np.array([[SKIN, WALL, (8, 4, 3), (60, 40, 30)]], dtype=np.uint8)
    assert skin_mask(img).tolist() == [[True, False, False, True]]


@pytest.mark.parametrize(
    ("arm_to", "palm"), [("bottom", (110, 150)), ("left", (100, 200)), ("right", (90, 100))]
)
def test_box_is_square_around_the_hand_not_the_arm(arm_to: str, palm: tuple[int, int]) -> None:
    photo, (pr, pc) = synthetic_hand_photo(palm=palm, radius=24, arm_to=arm_to)
    box = find_hand(photo, detector="skin")
    assert box is not None
    assert box.right - box.left == box.bottom - box.top
    assert abs(box.palm[0] - pr) <= 3 and abs(box.palm[1] - pc) <= 3
    assert 20 <= box.palm_radius <= 28
    assert _contains(box, pr, pc)
    # the fingers (2.6 radii from the palm, away from the arm) are inside the box
    tip = {"bottom": (pr - 2.5 * 24, pc), "left": (pr, pc + 2.5 * 24), "right": (pr, pc - 2.5 * 24)}[arm_to]
    assert _contains(box, *tip)
    # the forearm is cut near the wrist: the box is much smaller than hand + arm
    assert box.side <= 2 * HAND_REACH * 24 * 1.1
    far_arm = {"bottom": (230, pc), "left": (pr, 5), "right": (pr, 315)}[arm_to]
    assert not _contains(box, *far_arm)


def test_wooden_frame_along_the_top_is_not_the_hand() -> None:
    photo, (pr, pc) = synthetic_hand_photo(frame=True)
    photo[:40] = WOOD  # a thick frame, bigger than the hand
    box = find_hand(photo, detector="skin")
    assert box is not None and _contains(box, pr, pc)


def test_no_skin_means_no_hand() -> None:
    wall = np.empty((120, 160, 3), np.uint8)
    wall[:] = WALL
    assert find_hand(wall, detector="skin") is None
    speck = wall.copy()
    speck[50:53, 50:53] = SKIN  # far too small for a hand
    assert find_hand(speck, detector="skin") is None


def test_box_is_in_original_coordinates_for_large_photos() -> None:
    small, _ = synthetic_hand_photo(palm=(110, 150), radius=24)
    big = np.repeat(np.repeat(small, 4, axis=0), 4, axis=1)  # 1280x960
    b_small, b_big = find_hand(small, detector="skin"), find_hand(big, detector="skin")
    assert b_small is not None and b_big is not None
    for a, b in ((b_small.left, b_big.left), (b_small.top, b_big.top), (b_small.side, b_big.side)):
        assert abs(4 * a - b) <= 10


def test_edge_on_hand_on_a_thicker_forearm_is_boxed_not_the_forearm() -> None:
    """The palm is sought at the far end *along* the arm (geodesic), so a thin hand wins."""
    photo, (tip, wrist, left, right) = synthetic_edge_on_photo()
    box = find_hand(photo, detector="skin")
    assert box is not None
    assert tip <= box.palm[0] < wrist and left <= box.palm[1] < right  # on the hand
    assert _contains(box, tip + 2, (left + right) / 2)  # the fingertips are in
    assert _contains(box, (tip + wrist) / 2, (left + right) / 2)
    assert not _contains(box, wrist + 40, (left + right) / 2)  # the forearm is not


@pytest.mark.parametrize("skin", [SKIN, PALE_SKIN])
@pytest.mark.parametrize("seed", [0, 1])
def test_speckled_skin_coloured_wall_next_to_the_hand_does_not_move_the_box(
    skin: tuple[int, int, int], seed: int
) -> None:
    photo, _ = synthetic_hand_photo(palm=(110, 150), radius=24, frame=False)
    photo[np.abs(photo.astype(int) - np.array(SKIN)).max(axis=-1) < 15] = skin
    alone = find_hand(photo, detector="skin")
    walled = find_hand(add_speckled_wall(photo, slice(60, 240), slice(150, 300), seed=seed), detector="skin")
    assert alone is not None and walled is not None
    tol = 0.1 * alone.side
    assert abs(walled.side - alone.side) <= tol
    assert abs(walled.left - alone.left) <= tol and abs(walled.top - alone.top) <= tol


def test_frame_welded_to_the_fingertips_is_cut_off_not_the_hand_dropped() -> None:
    photo, (pr, pc) = synthetic_hand_photo(palm=(110, 150), radius=24, frame=False)
    photo[:52] = WOOD  # the fingers (up to row ~48) touch a thick frame along the whole top
    box = find_hand(photo, detector="skin")
    assert box is not None and _contains(box, pr, pc)
    assert abs(box.palm[0] - pr) <= 4 and abs(box.palm[1] - pc) <= 4
    assert box.top >= 30  # the frame is not in the box


def test_one_skin_colour_with_shading_is_not_split() -> None:
    """The two-colour split only acts on two distinct colours, not on a shaded hand."""
    rng = np.random.default_rng(0)
    photo = np.empty((80, 80, 3), np.float32)
    photo[:] = WALL
    shade = np.linspace(0.6, 1.2, 40)[:, None, None]  # strong light gradient across the hand
    photo[20:60, 20:60] = np.asarray(PALE_SKIN, np.float32) * shade + rng.normal(0, 3, (40, 40, 3))
    rgb = np.clip(np.rint(photo), 0, 255).astype(np.uint8)
    mask = skin_mask(rgb)
    blob = mask.copy()
    np.testing.assert_array_equal(_drop_background_colour(_ycc(rgb), mask, blob), blob)
