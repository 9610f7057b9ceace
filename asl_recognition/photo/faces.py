"""Find frontal faces in a photo, so that the hand finder does not take a face for a hand.

A photo of someone fingerspelling often shows their face next to the hand, and a face is a
large skin-coloured region: for a skin-colour hand finder it is the biggest rival of the hand.
:func:`face_boxes` finds frontal faces with the LBP cascade that scikit-image ships
(``skimage.data.lbp_frontal_face_cascade_filename()``, OpenCV's ``lbpcascade_frontalface``):
a classical detector whose model file is part of an installed package, so nothing is
downloaded. :func:`face_exclusion_mask` turns the faces into the region the hand finder must
ignore: the face widened to the ears and extended down over the neck (both skin-coloured).

Letters are signed beside the face, at shoulder height; a hand held in front of the face loses
the part that overlaps it (a known limit, docs/photos.md).

>>> import numpy as np
>>> face_boxes(np.full((120, 160, 3), 128, np.uint8))
[]
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from typing import Any

import numpy as np
import numpy.typing as npt

from asl_recognition.registry import import_string

__all__ = ["FaceBox", "face_boxes", "face_exclusion_mask"]

logger = logging.getLogger(__name__)

#: Detection runs at this many pixels on the long side: a face that matters (one big enough
#: to outweigh a hand) is large, and the cascade's cost grows with the image area (128 px: faces
#: down to ~1/5 of the short side; the cost is measured in docs/photos.md).
FACE_WORK_SIDE = 128
#: Faces smaller than this fraction of the short side are not searched: a face that small is a
#: small skin region, which the blob choice already ranks below a hand held near the camera.
MIN_FACE_FRACTION = 1 / 6
#: Window growth between cascade scales (1.25: every face size within ~12 % of a scale).
SCALE_FACTOR = 1.25
#: Overlapping detections needed to accept a face (the cascade fires several times on a real
#: face and rarely more than once on texture).
MIN_NEIGHBOURS = 4
#: The excluded region around a detected (eyebrows-to-mouth) face box, in face sizes: the
#: cheeks and ears on both sides, the forehead above, the chin and neck below.
WIDEN, ABOVE, BELOW = 0.3, 0.4, 1.0


@dataclasses.dataclass(frozen=True)
class FaceBox:
    """A detected face in pixel coordinates of the analysed image (right/bottom exclusive)."""

    left: int
    top: int
    right: int
    bottom: int


@functools.cache
def _cascade() -> Any:
    cascade = import_string("skimage.feature:Cascade", extra="images", what="the photo localizer's face finder")
    from skimage.data import lbp_frontal_face_cascade_filename

    return cascade(lbp_frontal_face_cascade_filename())  # type: ignore[no-untyped-call]


def face_boxes(rgb: npt.NDArray[np.uint8]) -> list[FaceBox]:
    """Frontal faces in an ``(H, W, 3)`` uint8 RGB image, in its pixel coordinates.

    The search runs on a copy at most :data:`FACE_WORK_SIDE` pixels on its long side, for faces
    of at least :data:`MIN_FACE_FRACTION` of its short side.
    """
    from PIL import Image

    h, w = rgb.shape[:2]
    scale = min(1.0, FACE_WORK_SIDE / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    grey = Image.fromarray(np.ascontiguousarray(rgb), mode="RGB").convert("L")
    if scale < 1.0:
        grey = grey.resize(size, Image.Resampling.BOX)
    small = np.asarray(grey, dtype=np.float64) / 255.0
    short = min(small.shape)
    min_side = max(24, round(short * MIN_FACE_FRACTION))  # the cascade's window is 24x24
    if short < min_side:
        return []
    found = _cascade().detect_multi_scale(
        img=small, scale_factor=SCALE_FACTOR, step_ratio=1, min_size=(min_side, min_side),
        max_size=(short, short), min_neighbor_number=MIN_NEIGHBOURS,
    )
    inv = 1.0 / scale
    boxes = [
        FaceBox(left=round(f["c"] * inv), top=round(f["r"] * inv),
                right=round((f["c"] + f["width"]) * inv), bottom=round((f["r"] + f["height"]) * inv))
        for f in found
    ]
    if boxes:
        logger.debug("faces %s in a %dx%d photo", boxes, w, h)
    return boxes


def face_exclusion_mask(shape: tuple[int, int], faces: list[FaceBox]) -> npt.NDArray[np.bool_]:
    """Boolean ``shape`` mask of the pixels to ignore around ``faces`` (face, ears, neck).

    >>> mask = face_exclusion_mask((100, 100), [FaceBox(40, 20, 60, 40)])
    >>> bool(mask[30, 50]), bool(mask[55, 50]), bool(mask[30, 90])
    (True, True, False)
    """
    mask = np.zeros(shape, dtype=bool)
    h, w = shape
    for f in faces:
        side = f.right - f.left
        top = max(0, int(f.top - ABOVE * side))
        bottom = min(h, int(np.ceil(f.bottom + BELOW * side)))
        left = max(0, int(f.left - WIDEN * side))
        right = min(w, int(np.ceil(f.right + WIDEN * side)))
        mask[top:bottom, left:right] = True
    return mask
