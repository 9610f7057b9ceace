"""The hand box that every hand localiser returns, and the downscaled copy they search.

Both localisers, the learned detector (:mod:`asl_recognition.photo.localize`) and the skin
segmenter (:mod:`asl_recognition.photo.skin`), answer with a :class:`HandBox`: the square that a
Sign MNIST crop of the same photo would have been, grown by the same :data:`MARGIN`.

>>> box = HandBox(left=10, top=20, right=50, bottom=60, palm=(40, 30), palm_radius=8.0)
>>> box.side
40
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt

from asl_recognition.photo.colour import NEUTRAL
from asl_recognition.photo.handpose import HandPose

__all__ = ["MARGIN", "HandBox", "downscaled"]

#: Margin added around the hand (fraction of the side); Sign MNIST crops are tight.
MARGIN = 0.08


@dataclasses.dataclass(frozen=True)
class HandBox:
    """A square box in pixel coordinates of the analysed image (may extend past its edges).

    Attributes:
        left, top, right, bottom: box edges (right/bottom exclusive).
        palm: ``(row, col)`` of the palm centre.
        palm_radius: radius of the largest circle inscribed in the palm, in pixels.
        gains: the per-channel colour correction (:mod:`asl_recognition.photo.colour`) under
            which the skin was found; :data:`~asl_recognition.photo.colour.NEUTRAL` when the
            photo as taken showed the hand (and for the learned detector).
        pose: the hand's landmarks when the learned detector found it (photo pixels), else None.
    """

    left: int
    top: int
    right: int
    bottom: int
    palm: tuple[int, int]
    palm_radius: float
    gains: tuple[float, float, float] = NEUTRAL
    pose: HandPose | None = None

    @property
    def side(self) -> int:
        """Side length of the square box."""
        return self.right - self.left


def downscaled(rgb: npt.NDArray[np.uint8], side: int) -> tuple[npt.NDArray[np.uint8], float]:
    """``rgb`` box-filtered to at most ``side`` pixels on its long side, and the scale used."""
    h, w = rgb.shape[:2]
    scale = min(1.0, side / max(h, w))
    if scale == 1.0:
        return rgb, scale
    from PIL import Image

    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BOX)), scale
