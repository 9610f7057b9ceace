"""Map a hand crop to a 28x28 image with Sign Language MNIST's pixel statistics.

Two steps, both cheap and both justified by how Sign MNIST was made:

1. **Square crop, area resize**: the hand box from
   :func:`~asl_recognition.photo.localize.find_hand` is cut out (shifted inside the photo if it
   sticks out, mirrored at the edges if it is larger than the photo: no black bars, which Sign
   MNIST never has) and averaged down to 28x28 with a box filter, as Sign MNIST was downscaled.
2. **Robust contrast stretch, exposed for the hand**: when the skin mask of the crop is known,
   the 5th/95th percentiles of the hand pixels are mapped linearly to those of the centre of
   Sign MNIST images (:data:`HAND_LOW`, :data:`HAND_HIGH`): the Sign MNIST photos were exposed
   for a well-lit hand, so a backlit hand is brightened and a bright wall may clip to white.
   Without a mask, the 2nd/98th percentiles of the whole crop are mapped to Sign MNIST's
   (:data:`SIGN_MNIST_LOW`, :data:`SIGN_MNIST_HIGH`). Percentiles ignore a few specular or
   shadow pixels; a linear map keeps the shading that shows finger edges. Flat crops (no
   contrast) are left as they are.

>>> import numpy as np
>>> grey = np.tile(np.arange(0, 200, dtype=np.uint8), (200, 1))
>>> out = crop_to_28(grey, left=0, top=0, side=200)
>>> out.shape, out.dtype
((28, 28), dtype('uint8'))
>>> lo, hi = np.percentile(match_contrast(out), [2, 98])
>>> bool(abs(lo - SIGN_MNIST_LOW) < 8 and abs(hi - SIGN_MNIST_HIGH) < 8)
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from asl_recognition.data.arrays import IMAGE_SHAPE

__all__ = [
    "HAND_HIGH", "HAND_LOW", "SIGN_MNIST_HIGH", "SIGN_MNIST_LOW", "crop_to_28", "cut_square", "match_contrast",
    "placed",
]  # fmt: skip

#: Median over the Sign MNIST training file of each image's 2nd percentile (66.7) and 98th
#: percentile (215.0) of pixel values (measured once; see docs/photos.md).
SIGN_MNIST_LOW = 67.0
SIGN_MNIST_HIGH = 215.0
#: Median 5th (76.8) and 95th (205.0) percentiles of the central 14x14 pixels of the Sign MNIST
#: training images, where the hand is: the target range of hand pixels.
HAND_LOW = 77.0
HAND_HIGH = 205.0
#: Fewest hand pixels (of 784) for the hand-based stretch; below it the whole crop is used.
MIN_HAND_PIXELS = 60
#: Crops whose 2..98 percentile spread is below this are treated as flat and not stretched.
MIN_SPREAD = 8.0


def placed(height: int, width: int, *, left: int, top: int, side: int) -> tuple[int, int]:
    """Where :func:`cut_square` really cuts: a square that fits is shifted inside the image.

    >>> placed(100, 100, left=90, top=-5, side=20)
    (80, 0)
    """
    if side <= width:
        left = min(max(left, 0), width - side)
    if side <= height:
        top = min(max(top, 0), height - side)
    return left, top


def cut_square(image: npt.NDArray[Any], *, left: int, top: int, side: int) -> npt.NDArray[Any]:
    """The ``side`` x ``side`` square at (``left``, ``top``) of an (H, W[, C]) image.

    A square that fits in the image but sticks out is shifted inside (real pixels beat
    invented ones); a square larger than the image is completed by mirroring the image at its
    edges (no constant bars, which Sign MNIST never shows).

    >>> import numpy as np
    >>> cut_square(np.arange(16).reshape(4, 4), left=-1, top=2, side=2).tolist()
    [[8, 9], [12, 13]]
    """
    h, w = image.shape[:2]
    side = max(1, int(side))
    left, top = placed(h, w, left=left, top=top, side=side)
    pads = ((max(0, -top), max(0, top + side - h)), (max(0, -left), max(0, left + side - w)))
    if any(a or b for a, b in pads):
        extra = ((0, 0),) * (image.ndim - 2)
        image = np.pad(image, (*pads, *extra), mode="symmetric")
        top, left = top + pads[0][0], left + pads[1][0]
    return np.ascontiguousarray(image[top : top + side, left : left + side])


def crop_to_28(grey: npt.NDArray[np.uint8], *, left: int, top: int, side: int) -> npt.NDArray[np.uint8]:
    """Cut the square (see :func:`cut_square`) and area-resize it to 28x28."""
    from PIL import Image

    square = cut_square(grey, left=left, top=top, side=side)
    small = Image.fromarray(square).resize(IMAGE_SHAPE[::-1], Image.Resampling.BOX)
    return np.asarray(small, dtype=np.uint8).copy()


def match_contrast(
    image: npt.NDArray[np.uint8], hand: npt.NDArray[np.bool_] | None = None
) -> npt.NDArray[np.uint8]:
    """Linearly map the 2nd/98th percentiles of ``image`` to Sign MNIST's typical ones.

    With a ``hand`` mask (28x28 booleans, enough pixels set), the 5th/95th percentiles of the
    hand pixels are mapped to those of the centre of Sign MNIST images (the hand) instead:
    exposure is set for the hand, as the Sign MNIST photos were, whatever the background.

    >>> import numpy as np
    >>> flat = np.full((28, 28), 90, dtype=np.uint8)
    >>> bool((match_contrast(flat) == 90).all())
    True
    """
    x = image.astype(np.float32)
    if hand is not None and hand.sum() >= MIN_HAND_PIXELS:
        (lo, hi), (to_lo, to_hi) = np.percentile(x[hand], [5, 95]), (HAND_LOW, HAND_HIGH)
    else:
        (lo, hi), (to_lo, to_hi) = np.percentile(x, [2, 98]), (SIGN_MNIST_LOW, SIGN_MNIST_HIGH)
    if hi - lo < MIN_SPREAD:
        return image.copy()
    out = (x - lo) * ((to_hi - to_lo) / (hi - lo)) + to_lo
    return np.asarray(np.clip(np.rint(out), 0, 255), dtype=np.uint8)
