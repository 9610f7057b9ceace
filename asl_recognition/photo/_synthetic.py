"""A drawn "photo" of a hand and forearm on a wall, for tests and examples (no real data).

>>> photo, palm = synthetic_hand_photo()
>>> photo.shape, photo.dtype, palm
((240, 320, 3), dtype('uint8'), (110, 150))
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "PALE_SKIN",
    "PINK_WALL",
    "SKIN",
    "WALL",
    "WOOD",
    "add_speckled_wall",
    "synthetic_edge_on_photo",
    "synthetic_hand_photo",
]

SKIN = (196, 138, 108)
WALL = (205, 208, 214)
WOOD = (150, 105, 60)  # also skin-coloured in YCbCr: the frame a hand finder must ignore
#: Pale skin as a webcam sees it in daylight: Y ~110, Cr ~143, Cb ~121 (well inside the box).
PALE_SKIN = (131, 102, 98)
#: A pinkish wall just inside the skin box (Y ~161, Cr ~136, Cb ~125): with sensor noise, most
#: of its pixels pass the skin test and some do not, a speckle a hand finder must not join.
PINK_WALL = (172, 156, 155)


def synthetic_hand_photo(
    height: int = 240,
    width: int = 320,
    *,
    palm: tuple[int, int] = (110, 150),
    radius: int = 24,
    arm_to: str = "bottom",
    frame: bool = True,
    seed: int = 0,
) -> tuple[npt.NDArray[np.uint8], tuple[int, int]]:
    """Return ``(RGB photo, palm centre (row, col))``.

    The hand is a disc of ``radius`` (the palm) with three fingers pointing away from the arm;
    the forearm (narrower than the palm) runs from the palm to the ``arm_to`` border
    (``"bottom"``, ``"left"`` or ``"right"``). With ``frame``, a wooden strip spans the top.
    """
    rng = np.random.default_rng(seed)
    img = np.empty((height, width, 3), np.float32)
    img[:] = WALL
    yy, xx = np.mgrid[0:height, 0:width]
    pr, pc = palm
    if frame:
        img[: max(3, height // 20)] = WOOD
    hand = (yy - pr) ** 2 + (xx - pc) ** 2 <= radius**2
    arm_half = int(radius * 0.7)
    finger_half = max(2, radius // 6)
    if arm_to == "bottom":
        hand |= (yy >= pr) & (np.abs(xx - pc) <= arm_half)
        for k in (-1, 0, 1):  # fingers up
            hand |= (yy <= pr) & (yy >= pr - 2.6 * radius) & (np.abs(xx - (pc + k * radius // 2)) <= finger_half)
    else:
        toward = xx <= pc if arm_to == "left" else xx >= pc
        away = xx >= pc if arm_to == "left" else xx <= pc
        hand |= toward & (np.abs(yy - pr) <= arm_half)
        for k in (-1, 0, 1):  # fingers sideways
            hand |= away & (np.abs(xx - pc) <= 2.6 * radius) & (np.abs(yy - (pr + k * radius // 2)) <= finger_half)
    img[hand] = SKIN
    img += rng.normal(0, 3, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), palm


def synthetic_edge_on_photo(
    height: int = 240,
    width: int = 240,
    *,
    arm_half: int = 18,
    hand_half: int = 8,
    hand_length: int = 100,
    skin: tuple[int, int, int] = PALE_SKIN,
    seed: int = 0,
) -> tuple[npt.NDArray[np.uint8], tuple[int, int, int, int]]:
    """A flat hand seen edge-on, on a long forearm, thicker than it, rising from the bottom.

    The forearm (half-width ``arm_half``) runs from the bottom border past mid-height; the hand
    (half-thickness ``hand_half``, ``hand_length`` from wrist to fingertips) continues it upwards,
    as a B or the side of a C is seen from the thumb side. Returns ``(photo, (top, bottom, left,
    right))``: the hand's extent, wrist to fingertips.
    """
    rng = np.random.default_rng(seed)
    img = np.empty((height, width, 3), np.float32)
    img[:] = WALL
    yy, xx = np.mgrid[0:height, 0:width]
    c = width // 2
    tip = max(5, height // 12)
    wrist = tip + hand_length
    arm = (yy >= wrist) & (np.abs(xx - c) <= arm_half)
    hand = (yy < wrist) & (yy >= tip + hand_half) & (np.abs(xx - c) <= hand_half)
    hand |= (yy - tip - hand_half) ** 2 + (xx - c) ** 2 <= hand_half**2  # rounded fingertips
    img[arm | hand] = skin
    img += rng.normal(0, 3, img.shape)
    photo = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return photo, (tip, wrist, c - hand_half, c + hand_half + 1)


def add_speckled_wall(
    photo: npt.NDArray[np.uint8],
    rows: slice,
    cols: slice,
    *,
    colour: tuple[int, int, int] = PINK_WALL,
    noise: float = 4.0,
    seed: int = 1,
) -> npt.NDArray[np.uint8]:
    """Return ``photo`` with a noisy wall patch (default :data:`PINK_WALL`) under ``rows, cols``.

    Skin pixels already there are kept (the wall is behind the hand).
    """
    rng = np.random.default_rng(seed)
    out = photo.astype(np.float32)
    region = out[rows, cols]
    wall = np.asarray(colour, np.float32) + rng.normal(0, noise, region.shape)
    background = np.abs(region - np.asarray(WALL, np.float32)).max(axis=-1) < 20
    region[background] = wall[background]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
