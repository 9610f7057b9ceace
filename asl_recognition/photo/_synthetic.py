"""A drawn "photo" of a hand and forearm on a wall, for tests and examples (no real data).

>>> photo, palm = synthetic_hand_photo()
>>> photo.shape, photo.dtype, palm
((240, 320, 3), dtype('uint8'), (110, 150))
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["SKIN", "WALL", "WOOD", "synthetic_hand_photo"]

SKIN = (196, 138, 108)
WALL = (205, 208, 214)
WOOD = (150, 105, 60)  # also skin-coloured in YCbCr: the frame a hand finder must ignore


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
