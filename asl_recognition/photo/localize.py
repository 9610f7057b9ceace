"""Find the hand in a colour photo: learned hand landmarks, else skin segmentation.

Sign Language MNIST images are tight crops of one hand; real photos show a hand somewhere in a
room, usually with its forearm. :func:`find_hand` returns the square box that a Sign MNIST crop
of the same photo would have been, or ``None`` when no plausible hand is visible (the caller
then falls back to a centre crop).

**Learned detector first** (:mod:`asl_recognition.photo.handpose`, when the hand models are
installed): MediaPipe's palm detector and hand landmark model give the 21 landmarks of the
hand. The box bounds the landmarks grown by a finger's half-width (``FINGER_HALF_WIDTH`` palm
lengths: the landmarks are joint centres and fingertips), made square with the same
``MARGIN`` as the skin localiser's box. The box keeps the pose (``HandBox.pose``): the hand's silhouette and side.

**Skin localiser** otherwise (no models, or no hand found by them):
:func:`asl_recognition.photo.skin.find_skin_hand` segments the skin-coloured pixels and finds
the palm at the far end of the arm (its steps are described in :mod:`asl_recognition.photo.skin`).

>>> import numpy as np
>>> photo = np.full((120, 160, 3), (200, 200, 205), dtype=np.uint8)    # grey wall
>>> photo[30:80, 60:100] = (200, 140, 110)                              # a skin-coloured palm
>>> photo[80:, 70:90] = (190, 135, 105)                                 # its forearm
>>> box = find_hand(photo)
>>> box is not None and box.left <= 60 and box.right >= 100 and box.top <= 30
True
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import numpy.typing as npt

from asl_recognition.data.arrays import IMAGE_SHAPE
from asl_recognition.errors import InvalidParameterError
from asl_recognition.photo.box import MARGIN, HandBox, downscaled
from asl_recognition.photo.colour import apply_gains
from asl_recognition.photo.handpose import PALM_POLYGON, detect_hand_pose, draw_hand
from asl_recognition.photo.skin import HAND_REACH, find_skin_hand, skin_mask

__all__ = ["DETECTORS", "HAND_REACH", "HandBox", "find_hand", "hand_mask_in_box", "skin_mask"]

logger = logging.getLogger(__name__)

#: A finger's half-width in palm lengths (wrist to middle knuckle, ~9.5 cm; an adult finger is
#: ~1.8 cm wide): how far the hand's outline lies beyond the landmarks (joint centres).
FINGER_HALF_WIDTH = 0.1
#: The learned detector runs on the photo at most this many pixels on the long side (box
#: filtered): its inputs are 192 and 224 pixels, and the landmark crop is sampled without
#: antialiasing, so a 48-megapixel photo would alias.
POSE_SIDE = 512
#: Which localiser :func:`find_hand` uses: ``auto`` (learned detector, else skin), ``learned``
#: (learned detector only), ``skin`` (skin localiser only).
DETECTORS = ("auto", "learned", "skin")


def find_hand(rgb: npt.NDArray[np.uint8], *, detector: str = "auto") -> HandBox | None:
    """Return the square hand box of an ``(H, W, 3)`` uint8 RGB photo, or None if no hand.

    The box is in the coordinates of ``rgb``; it may extend past the image edges (the caller
    pads). ``detector`` is one of :data:`DETECTORS`. See the module docstring.
    """
    if detector not in DETECTORS:
        raise InvalidParameterError(f"'detector' must be one of {', '.join(DETECTORS)}, got {detector!r}")
    if detector != "skin":
        box = _learned_box(rgb)
        if box is not None or detector == "learned":
            return box
    return find_skin_hand(rgb)


def _learned_box(rgb: npt.NDArray[np.uint8]) -> HandBox | None:
    """The box around the landmarks of the learned detector, or None (no models, no hand)."""
    small, scale = downscaled(rgb, POSE_SIDE)
    found = detect_hand_pose(small)
    if found is None:
        return None
    pose = dataclasses.replace(found, landmarks=found.landmarks / scale)
    grow = FINGER_HALF_WIDTH * pose.palm_length
    (x0, y0), (x1, y1) = pose.landmarks.min(0) - grow, pose.landmarks.max(0) + grow
    side = round(max(x1 - x0, y1 - y0) * (1.0 + MARGIN))
    left, top = round((x0 + x1 - side) / 2), round((y0 + y1 - side) / 2)
    palm = pose.landmarks[list(PALM_POLYGON)].mean(0)
    box = HandBox(left=left, top=top, right=left + side, bottom=top + side, palm=(round(palm[1]), round(palm[0])),
                  palm_radius=pose.palm_length / 2, pose=pose)  # fmt: skip
    logger.debug("hand landmarks: box %s (palm score %.2f, presence %.2f)", box, pose.palm_score, pose.presence)
    return box


def hand_mask_in_box(rgb: npt.NDArray[np.uint8], box: HandBox) -> npt.NDArray[np.bool_]:
    """The hand's pixels inside ``box``, as a 28x28 boolean image aligned with the 28x28 crop.

    With landmarks (``box.pose``), the hand's silhouette drawn from them (bones a finger wide,
    the palm filled): it holds whatever the light does to the skin's colour. Otherwise the
    skin mask of the crop, seen under the colour correction the box was found with
    (``box.gains``).
    """
    from PIL import Image

    from asl_recognition.photo.normalize import cut_square, placed

    side = 3 * IMAGE_SHAPE[0]
    if box.pose is not None:
        pose, factor = box.pose, side / box.side
        origin = placed(*rgb.shape[:2], left=box.left, top=box.top, side=box.side)  # as the crop was cut
        width = 2 * FINGER_HALF_WIDTH * pose.palm_length * factor
        drawn = draw_hand(pose, side, lambda p: (p - origin) * factor, width)
        votes = (np.asarray(drawn, np.float32) / 255.0).reshape(IMAGE_SHAPE[0], 3, IMAGE_SHAPE[1], 3).mean(axis=(1, 3))
        return np.asarray(votes > 0.5, dtype=bool)
    square = apply_gains(cut_square(rgb, left=box.left, top=box.top, side=box.side), box.gains)
    small = np.asarray(Image.fromarray(square).resize((side, side), Image.Resampling.BOX))
    votes = skin_mask(small).reshape(IMAGE_SHAPE[0], 3, IMAGE_SHAPE[1], 3).mean(axis=(1, 3))
    return np.asarray(votes > 0.5, dtype=bool)
