"""The photo branch of preprocessing: colour photo -> hand box -> 28x28 Sign-MNIST-like image.

>>> import numpy as np
>>> photo = np.full((120, 160, 3), (200, 200, 205), dtype=np.uint8)
>>> photo[30:80, 60:100] = (200, 140, 110)
>>> photo[80:, 70:90] = (190, 135, 105)
>>> result = preprocess_photo(photo)
>>> result.image.shape, result.hand is not None
((28, 28), True)
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import numpy.typing as npt

from asl_recognition.errors import InvalidParameterError
from asl_recognition.photo.handpose import HandPose
from asl_recognition.photo.localize import HandBox, find_hand, hand_mask_in_box
from asl_recognition.photo.mirror import is_other_side, mirror
from asl_recognition.photo.normalize import crop_to_28, cut_square, match_contrast

__all__ = ["HandObservation", "PhotoResult", "is_colour_photo", "preprocess_photo", "to_luma"]

logger = logging.getLogger(__name__)

#: A photo is "colour" when the mean absolute chroma exceeds this (0..255 scale): JPEG noise
#: in a greyscale picture stays well below it.
MIN_CHROMA = 2.0


@dataclasses.dataclass(frozen=True)
class HandObservation:
    """What a photo shows of its hand, computed once and shared by every model that reads it.

    Attributes:
        image: the 28x28 Sign-MNIST-like crop of the hand (the centre square when no hand).
        hand: the hand box it was cut from (None: centre crop); with the learned detector,
            ``hand.pose`` holds the 21 landmarks (photo pixels), their depth, the world
            landmarks (metres) and the hand-side score.
        mirrored: True when the hand is the other one than Sign MNIST's (known from the
            landmarks) and ``image`` was flipped to Sign MNIST's side.
        photo_size: ``(height, width)`` of the photo, in pixels.
    """

    image: npt.NDArray[np.uint8]
    hand: HandBox | None
    mirrored: bool = False
    photo_size: tuple[int, int] = (0, 0)

    @property
    def pose(self) -> HandPose | None:
        """The learned detector's reading of the hand, or None (no models, no hand found, or
        found by skin colour only)."""
        return None if self.hand is None else self.hand.pose


#: The former name of :class:`HandObservation`.
PhotoResult = HandObservation


def to_luma(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """ITU-R 601-2 luma (L = 0.299 R + 0.587 G + 0.114 B), as Pillow's ``convert("L")``."""
    from PIL import Image

    return np.asarray(Image.fromarray(np.ascontiguousarray(rgb), mode="RGB").convert("L"), dtype=np.uint8)


def is_colour_photo(rgb: npt.NDArray[np.uint8]) -> bool:
    """True when an ``(H, W, 3)`` image carries colour (skin detection needs chroma).

    >>> import numpy as np
    >>> is_colour_photo(np.full((8, 8, 3), 100, np.uint8))
    False
    """
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    total = 0
    for x, y in ((r, g), (g, b)):  # |x - y| in uint8 (no overflow), summed exactly
        diff = np.maximum(x, y)
        diff -= np.minimum(x, y)
        total += int(diff.sum(dtype=np.int64))
    return total > MIN_CHROMA * r.size


def preprocess_photo(
    rgb: npt.NDArray[np.uint8], *, normalize_contrast: bool = True, detector: str = "auto"
) -> HandObservation:
    """Map an ``(H, W, 3)`` uint8 RGB photo to the (28, 28) uint8 image a model expects.

    The hand is located (:func:`~asl_recognition.photo.localize.find_hand` with ``detector``);
    without one the largest centred square is used. The square is cut from the luma image,
    area-resized to 28x28 and, if ``normalize_contrast``, its contrast is matched to Sign
    MNIST's. A hand the landmarks show to be the other hand than Sign MNIST's is mirrored
    (:func:`~asl_recognition.photo.mirror.is_other_side`).
    """
    arr = np.asarray(rgb)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise InvalidParameterError(f"a photo must be an (H, W, 3) uint8 array, got {arr.shape} {arr.dtype}")
    h, w = arr.shape[:2]
    hand = find_hand(arr, detector=detector)
    if hand is None:
        side = min(h, w)
        left, top = (w - side) // 2, (h - side) // 2
    else:
        side, left, top = hand.side, hand.left, hand.top
    # luma of the square only (pointwise, so the same pixels as cutting the luma of the photo)
    image = crop_to_28(to_luma(cut_square(arr, left=left, top=top, side=side)), left=0, top=0, side=side)
    if normalize_contrast:
        image = match_contrast(image, None if hand is None else hand_mask_in_box(arr, hand))
    flip = hand is not None and hand.pose is not None and is_other_side(hand.pose.side_score)
    return HandObservation(image=mirror(image) if flip else image, hand=hand, mirrored=flip, photo_size=(h, w))
