"""Turn a photo (file, encoded bytes or pixel array) into the model's 28x28 greyscale input.

:func:`preprocess_image` is THE image preprocessing function of the library: the scoring
script, the Python client, the CLI and the demo page all go through it, so a model sees the
same pixels whichever way an image reaches it.

>>> import numpy as np
>>> preprocess_image(np.full((60, 80, 3), 200, dtype=np.uint8)).shape
(28, 28)
"""

from __future__ import annotations

import io
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from asl_recognition._validation import Interval, check_param
from asl_recognition.data.arrays import IMAGE_SHAPE, check_pixel_range
from asl_recognition.errors import InvalidParameterError

__all__ = ["DEFAULT_MAX_IMAGE_PIXELS", "ImageTooLargeError", "preprocess_image"]

logger = logging.getLogger(__name__)

#: Largest image (width x height) decoded by default: a 48-megapixel photo fits; a
#: decompression bomb (a tiny file that decodes to gigapixels) does not.
DEFAULT_MAX_IMAGE_PIXELS = 50_000_000


#: Pillow modes that can carry colour (step 5 looks at these only).
_COLOUR_MODES = frozenset({"RGB", "RGBA", "RGBa", "RGBX", "P", "PA", "CMYK", "YCbCr"})


class ImageTooLargeError(InvalidParameterError):
    """An image has more pixels than allowed (a likely decompression bomb)."""


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
       leaves at least 4x the output size, which makes large photos cheap to decode.
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
    from PIL import Image, ImageOps

    check_param("max_pixels", max_pixels, Interval(int, 1, None))

    # 1. open (lazily for encoded input)
    im, what = _open(image, what=what, max_pixels=max_pixels)

    # 2. pixel limit, checked on the header before decoding
    width, height = im.size
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"{what} has {width}x{height} = {width * height:,} pixels, more than the "
            f"limit of {max_pixels:,}"
        )
    if width < 1 or height < 1:
        raise InvalidParameterError(f"{what} has no pixels ({width}x{height})")

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            # 3. draft decoding (JPEG only; a no-op for other formats); colour kept for photos
            if im.format == "JPEG":
                colour = im.mode in _COLOUR_MODES
                side = (8 if colour else 4) * max(IMAGE_SHAPE)
                im.draft(None if colour else "L", (side, side))
            # 4. EXIF orientation
            im = ImageOps.exif_transpose(im)
            # 5. photo branch: colour photos go through hand localisation
            rgb = _colour_photo(im)
            if rgb is not None:
                from asl_recognition.photo import preprocess_photo

                result = preprocess_photo(rgb)
                logger.debug("preprocessed %s as a photo (hand box %s)", what, result.hand)
                return result.image
            # 6. greyscale
            grey = _to_greyscale(im)
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidParameterError(f"{what} could not be decoded: {exc}") from exc

    # 7. centre square crop
    w, h = grey.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    square = grey.crop((left, top, left + side, top + side))

    # 8. area resize
    small = square.resize(IMAGE_SHAPE[::-1], Image.Resampling.BOX)
    out = np.asarray(small, dtype=np.uint8).copy()
    logger.debug("preprocessed %s from %dx%d %s", what, width, height, im.mode)
    return out


def _open(image: Any, *, what: str, max_pixels: int) -> tuple[Any, str]:
    """Step 1: a lazily opened Pillow image (header read, pixels not decoded) and its name."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        try:
            data = path.read_bytes()
        except OSError as exc:
            reason = exc.strerror or exc
            raise InvalidParameterError(f"{what}: cannot read {path}: {reason}") from exc
        what = f"{what} {path}" if what == "image" else what
    elif isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
    else:
        return _image_from_array(image, what=what, max_pixels=max_pixels), what
    if not data:
        raise InvalidParameterError(f"{what} is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data)), what
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"{what} is too large to decode: {exc}") from exc
    except UnidentifiedImageError as exc:  # its message names Pillow's internal BytesIO object
        raise InvalidParameterError(
            f"{what} is not a readable image (PNG or JPEG expected): unknown file format"
        ) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidParameterError(
            f"{what} is not a readable image (PNG or JPEG expected): {exc}"
        ) from exc


def _image_from_array(image: Any, *, what: str, max_pixels: int) -> Any:
    """Step 1 for arrays: validate shape and range, return an 8-bit Pillow image."""
    from PIL import Image

    try:
        arr = np.asarray(image)
    except (ValueError, TypeError) as exc:
        raise InvalidParameterError(f"{what} must be a rectangular pixel array: {exc}") from exc
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise InvalidParameterError(f"{what} must contain numbers, got values of type {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))):
        raise InvalidParameterError(
            f"{what} must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {arr.shape}"
        )
    if arr.shape[0] * arr.shape[1] > max_pixels:
        raise ImageTooLargeError(
            f"{what} has {arr.shape[1]}x{arr.shape[0]} pixels, more than the limit of "
            f"{max_pixels:,}"
        )
    check_pixel_range(arr, what=what)
    return Image.fromarray(np.rint(arr).astype(np.uint8) if arr.dtype != np.uint8 else arr)


def _colour_photo(im: Any) -> npt.NDArray[np.uint8] | None:
    """Step 5: the RGB pixels of ``im`` if it is a colour photo (not 28x28, has chroma), else None."""
    from PIL import Image

    from asl_recognition.photo import is_colour_photo

    if im.size == IMAGE_SHAPE[::-1] or im.mode not in _COLOUR_MODES:
        return None
    if im.mode in ("RGBA", "PA", "RGBa") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        rgb = np.asarray(Image.alpha_composite(background, rgba).convert("RGB"), dtype=np.uint8)
    else:
        rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    return rgb if is_colour_photo(rgb) else None


def _to_greyscale(im: Any) -> Any:
    """Step 5: any Pillow mode -> 8-bit luminance ("L"), transparency composited on white."""
    from PIL import Image

    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        if im.mode != "F":
            arr = arr / 257.0
        return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), mode="L")
    transparent = im.mode == "P" and "transparency" in im.info
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or transparent:
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("L")
    if im.mode == "L":
        im.load()
        return im
    return im.convert("L")
