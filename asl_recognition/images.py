"""Turn a photo (file, encoded bytes or pixel array) into the model's 28x28 greyscale input.

:func:`preprocess_image` is THE image preprocessing function of the library: the scoring
script, the Python client, the CLI and the demo page all go through it, so a model sees the
same pixels whichever way an image reaches it. Photo-native models read the whole
:class:`~asl_recognition.photo.HandObservation` instead (:func:`observe_image`), made by the
same steps.

>>> import numpy as np
>>> preprocess_image(np.full((60, 80, 3), 200, dtype=np.uint8)).shape
(28, 28)
"""

from __future__ import annotations

import logging
import os

import numpy as np
import numpy.typing as npt

from asl_recognition.photo.decode import DEFAULT_MAX_IMAGE_PIXELS, ImageTooLargeError, read_photo
from asl_recognition.photo.observe import observe_photo
from asl_recognition.photo.pipeline import HandObservation

__all__ = ["DEFAULT_MAX_IMAGE_PIXELS", "ImageTooLargeError", "observe_image", "preprocess_image", "read_photo"]

logger = logging.getLogger(__name__)


def preprocess_image(
    image: str | os.PathLike[str] | bytes | npt.ArrayLike,
    *,
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    what: str = "image",
) -> npt.NDArray[np.uint8]:
    """Return ``image`` as the (28, 28) uint8 greyscale array a model expects.

    Steps, in order:

    1. **Open** without decoding: a path or encoded bytes (PNG, JPEG, or any format Pillow
       reads) is opened lazily; an array of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)
       with values in 0..255 becomes an image directly.
    2. **Pixel limit**: width x height above ``max_pixels`` raises
       :class:`ImageTooLargeError` before any pixel is decoded (decompression bombs).
    3. **Draft decoding**: JPEGs are decoded at the smallest DCT scale (1/2 .. 1/8) that still
       leaves what the next steps read: both sides at least :data:`PHOTO_DECODE_SIDE` for
       colour photos (the hand detector's working size), 4x the output size for greyscale. A
       large photo is cheap to decode, and a photo up to twice that size decodes in full.
    4. **EXIF orientation**: the image is rotated/flipped as its EXIF tag says, so a phone
       photo is upright.
    5. **Photo branch**: a *colour* image larger than 28x28 is a photo, not a Sign MNIST crop:
       it goes through :func:`asl_recognition.photo.preprocess_photo` (hand landmarks from the
       learned detector, else skin colour; square hand crop, area resize, contrast matched to
       Sign MNIST, left hands mirrored; see ``docs/photos.md``) and steps 6-8 are skipped.
       28x28 inputs and greyscale images keep the steps below unchanged.
    6. **Greyscale**: transparent pixels are composited on white, then any mode becomes 8-bit
       luminance (ITU-R 601-2: L = 0.299 R + 0.587 G + 0.114 B); 16-bit and float images are
       scaled to 0..255.
    7. **Centre square crop**: the largest centred square, so the hand is not stretched.
    8. **Area resize** to 28x28 (box filter: each output pixel is the mean of the input
       pixels it covers), the way Sign Language MNIST was downscaled.

    Args:
        image: a file path, the encoded bytes of an image file, or a pixel array.
        max_pixels: largest width x height accepted.
        what: how to name the image in error messages (e.g. ``"images[2]"``).

    Raises:
        InvalidParameterError: the input cannot be read or decoded, or has an unusable shape.
        ImageTooLargeError: the image has more than ``max_pixels`` pixels.

    >>> import numpy as np
    >>> out = preprocess_image(np.tile(np.arange(0, 112, 2, dtype=np.uint8), (56, 1)))
    >>> out.dtype, out.shape, int(out[0, 0]), int(out[0, 27])
    (dtype('uint8'), (28, 28), 1, 109)
    """
    return observe_image(image, max_pixels=max_pixels, what=what).image


def observe_image(
    image: str | os.PathLike[str] | bytes | npt.ArrayLike,
    *,
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    what: str = "image",
) -> HandObservation:
    """The :class:`~asl_recognition.photo.HandObservation` of ``image``: steps 1-8 of
    :func:`preprocess_image`, keeping the hand box and landmarks (``hand`` is None for a 28x28
    or greyscale image, which takes steps 6-8)."""
    return observe_photo(image, max_pixels=max_pixels, what=what)
