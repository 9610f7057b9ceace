"""Validation of image batches handed to models: one place for every entry point.

Models accept images as ``(N, 28, 28)`` or ``(N, 784)`` arrays (or one image as ``(28, 28)`` /
``(784,)``) of pixel values in 0..255. :func:`as_image_batch` turns any of those into a float32
``(N, 28, 28)`` array and rejects everything else with an error that says what is wrong.

>>> import numpy as np
>>> as_image_batch(np.zeros((2, 784), dtype=np.uint8)).shape
(2, 28, 28)
>>> as_image_batch([[0] * 784]).dtype
dtype('float32')
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from asl_recognition.errors import InvalidParameterError

__all__ = ["IMAGE_SHAPE", "NUM_PIXELS", "as_image_batch", "check_pixel_range"]

IMAGE_SHAPE: tuple[int, int] = (28, 28)
NUM_PIXELS: int = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]


def as_image_batch(images: Any, *, what: str = "images") -> npt.NDArray[np.float32]:
    """Validate ``images`` and return them as a float32 ``(N, 28, 28)`` array in 0..255.

    Args:
        images: array-like of shape (N, 28, 28), (N, 784), (N, 28, 28, 1), (28, 28) or (784,).
        what: how to name the input in error messages.

    Raises:
        InvalidParameterError: wrong shape, non-numeric values, NaN/inf, or values outside 0..255.
    """
    try:
        arr = np.asarray(images)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise InvalidParameterError(f"{what} must be a rectangular array of numbers: {exc}") from exc
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.integer)
        or np.issubdtype(arr.dtype, np.floating)
        or arr.dtype == np.bool_
    ):
        raise InvalidParameterError(
            f"{what} must contain numbers, got values of type {arr.dtype}"
        )
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.shape == IMAGE_SHAPE or arr.shape == (NUM_PIXELS,):
        arr = arr.reshape(1, *IMAGE_SHAPE)
    elif arr.ndim == 2 and arr.shape[1] == NUM_PIXELS:
        arr = arr.reshape(-1, *IMAGE_SHAPE)
    elif not (arr.ndim == 3 and arr.shape[1:] == IMAGE_SHAPE):
        raise InvalidParameterError(
            f"{what} must have shape (N, 28, 28) or (N, 784), got {arr.shape}"
        )
    out = arr.astype(np.float32, copy=True)
    check_pixel_range(out, what=what)
    return out


def check_pixel_range(arr: npt.NDArray[Any], *, what: str = "images") -> None:
    """Raise :class:`InvalidParameterError` unless every value of ``arr`` is finite and in 0..255.

    >>> check_pixel_range(np.array([0.0, 300.0]), what="image")
    Traceback (most recent call last):
    ...
    asl_recognition.errors.InvalidParameterError: image must hold pixel values in 0..255, got values from 0 to 300
    """
    if not arr.size:
        return
    if not np.isfinite(arr).all():
        raise InvalidParameterError(f"{what}: NaN or infinite values are not pixels")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0 or hi > 255:
        raise InvalidParameterError(f"{what} must hold pixel values in 0..255, got values from {lo:g} to {hi:g}")
