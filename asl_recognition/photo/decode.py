"""Decoding a photo: open, pixel limit, draft decoding, EXIF orientation (steps 1-4 of
:func:`asl_recognition.images.preprocess_image`), and the greyscale path for non-photos.

One decoder for every way a photo reaches a model (a path, encoded bytes, a pixel array), so
that the service, the CLI, the Comparator and training read the same pixels.

>>> import numpy as np
>>> read_photo(np.zeros((4, 6), np.uint8)).shape
(4, 6, 3)
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from asl_recognition._validation import Interval, check_param
from asl_recognition.data.arrays import IMAGE_SHAPE, check_pixel_range
from asl_recognition.errors import InvalidParameterError

__all__ = [
    "DEFAULT_MAX_IMAGE_PIXELS", "PHOTO_DECODE_SIDE", "ImageTooLargeError", "colour_photo", "decode_image",
    "grey_crop", "read_photo",
]  # fmt: skip

#: Largest image (width x height) decoded by default: a 48-megapixel photo fits; a
#: decompression bomb (a tiny file that decodes to gigapixels) does not.
DEFAULT_MAX_IMAGE_PIXELS = 50_000_000


#: Colour JPEGs are decoded at the smallest DCT scale that keeps both sides at least this
#: long: the hand detector works on photos of up to this size (``photo.localize.POSE_SIDE``),
#: so a smaller decode would lose detail it reads, and photos this small decode in full (the
#: same pixels as a decoded array passed in directly).
PHOTO_DECODE_SIDE = 512

#: Pillow modes that can carry colour (step 5 looks at these only).
_COLOUR_MODES = frozenset({"RGB", "RGBA", "RGBa", "RGBX", "P", "PA", "CMYK", "YCbCr"})



class ImageTooLargeError(InvalidParameterError):
    """An image has more pixels than allowed (a likely decompression bomb)."""


def read_photo(
    image: str | os.PathLike[str] | bytes | npt.ArrayLike,
    *,
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    what: str = "photo",
) -> npt.NDArray[np.uint8]:
    """Decode a photo into the ``(H, W, 3)`` uint8 RGB array that photo-native models read.

    Steps 1-4 of :func:`preprocess_image` (open, pixel limit, draft decoding, EXIF
    orientation); transparency is composited on white, greyscale becomes three equal channels.

    Raises:
        InvalidParameterError: the input cannot be read or decoded, or has an unusable shape.
        ImageTooLargeError: the image has more than ``max_pixels`` pixels.

    >>> import numpy as np
    >>> read_photo(np.zeros((4, 6), np.uint8)).shape
    (4, 6, 3)
    """
    from PIL import Image

    im, what = decode_image(image, max_pixels=max_pixels, what=what)
    try:
        if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (im.mode == "P" and "transparency" in im.info):
            rgba = im.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            im = Image.alpha_composite(background, rgba)
        elif im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
            im = _to_greyscale(im)
        return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidParameterError(f"{what} could not be decoded: {exc}") from exc


def decode_image(image: Any, *, max_pixels: int, what: str) -> tuple[Any, str]:
    """Steps 1-4: the opened, size-checked, draft-decoded and upright Pillow image and its name.

    Raises:
        InvalidParameterError: the input cannot be read or decoded, or has an unusable shape.
        ImageTooLargeError: the image has more than ``max_pixels`` pixels.
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
            # 3. draft decoding (JPEG only; a no-op for other formats)
            if im.format == "JPEG":
                if im.mode in _COLOUR_MODES:  # a photo: keep what the hand detector reads
                    im.draft(None, (PHOTO_DECODE_SIDE, PHOTO_DECODE_SIDE))
                else:
                    im.draft("L", (4 * max(IMAGE_SHAPE), 4 * max(IMAGE_SHAPE)))
            # 4. EXIF orientation
            im = ImageOps.exif_transpose(im)
            im.load()
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidParameterError(f"{what} could not be decoded: {exc}") from exc
    return im, what


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


def colour_photo(im: Any) -> npt.NDArray[np.uint8] | None:
    """Step 5: the RGB pixels of ``im`` if it is a colour photo (not 28x28, has chroma), else None."""
    from PIL import Image

    from asl_recognition.photo.pipeline import is_colour_photo

    if im.size == IMAGE_SHAPE[::-1] or im.mode not in _COLOUR_MODES:
        return None
    if im.mode in ("RGBA", "PA", "RGBa") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        rgb = np.asarray(Image.alpha_composite(background, rgba).convert("RGB"), dtype=np.uint8)
    else:  # (an RGB image's pixels are read as they are: convert("RGB") would copy them first)
        rgb = np.asarray(im if im.mode == "RGB" else im.convert("RGB"), dtype=np.uint8)
    return rgb if is_colour_photo(rgb) else None


def _to_greyscale(im: Any) -> Any:
    """Step 6: any Pillow mode -> 8-bit luminance ("L"), transparency composited on white."""
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


def grey_crop(im: Any) -> npt.NDArray[np.uint8]:
    """Steps 6-8 for an image that is not a colour photo: greyscale, the largest centred
    square, area-resized to 28x28 (as Sign Language MNIST was downscaled)."""
    from PIL import Image

    try:
        grey = _to_greyscale(im)
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidParameterError(f"image could not be decoded: {exc}") from exc
    w, h = grey.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    square = grey.crop((left, top, left + side, top + side))
    return np.asarray(square.resize(IMAGE_SHAPE[::-1], Image.Resampling.BOX), dtype=np.uint8).copy()
