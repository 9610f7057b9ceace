"""Deterministic, vectorised image corruptions for robustness evaluation.

Each corruption takes a ``(N, 28, 28)`` batch and one severity *parameter* and returns a new
uint8 batch; the whole batch is transformed with a handful of NumPy / ``scipy.ndimage`` calls
(no Python loop over images). Random choices (direction of a rotation or shift, zoom in or out,
noise, patch position) come from a generator seeded with ``(seed, corruption, severity level)``,
so the result does not depend on the order corruptions are run in.

The default set (:data:`DEFAULT_CORRUPTIONS`), one parameter per severity level 1..3:

============  ==================================================  ==================
name          what                                                parameters
============  ==================================================  ==================
rotation      rotate by +/- angle degrees (sign random per image)   5, 10, 20
shift         translate by d pixels in a random direction           2, 4, 6
scale         zoom in or out (random per image) by factor 1 +/- s   0.1, 0.2, 0.3
contrast      scale contrast around mid-grey by c, shift +/- 64*(1-c) 0.7, 0.5, 0.3
noise         additive Gaussian noise, sigma in grey levels         8, 16, 32
blur          Gaussian blur, sigma in pixels                        0.5, 1.0, 1.5
occlusion     mid-grey square of side k pixels at a random place   6, 9, 12
============  ==================================================  ==================

Geometric corruptions sample with bilinear interpolation and replicate edge pixels.

>>> import numpy as np
>>> x = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
>>> a = corrupt(x, "noise", 16, seed=0, level=2)
>>> np.array_equal(a, corrupt(x, "noise", 16, seed=0, level=2))
True
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from asl_recognition.errors import InvalidParameterError

__all__ = ["CORRUPTIONS", "DEFAULT_CORRUPTIONS", "corrupt", "validate_corruptions"]

Images = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float64]

_H = _W = 28
_CY, _CX = (_H - 1) / 2, (_W - 1) / 2
_YY, _XX = np.meshgrid(np.arange(_H, dtype=np.float64), np.arange(_W, dtype=np.float64), indexing="ij")


def _warp(images: Images, angle_deg: Floats, zoom: Floats, dy: Floats, dx: Floats) -> Floats:
    """Per-image affine warp (rotate about the centre, zoom, translate), bilinear, edge-clamped.

    Vectorised over the batch: the source coordinates of every output pixel are computed at
    once and the four neighbours gathered with flat integer indexing (equivalent to
    ``scipy.ndimage.map_coordinates(order=1, mode="nearest")`` per image, several times faster).
    """
    n = len(images)
    theta = np.deg2rad(angle_deg)[:, None, None]
    z = zoom[:, None, None]
    # output pixel (y, x) samples the input at the inverse transform of (y, x)
    y0 = _YY[None] - _CY - dy[:, None, None]
    x0 = _XX[None] - _CX - dx[:, None, None]
    cos, sin = np.cos(theta), np.sin(theta)
    src_y = np.clip((cos * y0 - sin * x0) / z + _CY, 0, _H - 1)
    src_x = np.clip((sin * y0 + cos * x0) / z + _CX, 0, _W - 1)
    top = np.minimum(np.floor(src_y).astype(np.int64), _H - 2)
    left = np.minimum(np.floor(src_x).astype(np.int64), _W - 2)
    wy, wx = src_y - top, src_x - left
    flat = images.reshape(-1).astype(np.float64)
    base = np.arange(n, dtype=np.int64)[:, None, None] * (_H * _W) + top * _W + left
    out: Floats = (
        flat[base] * (1 - wy) * (1 - wx)
        + flat[base + 1] * (1 - wy) * wx
        + flat[base + _W] * wy * (1 - wx)
        + flat[base + _W + 1] * wy * wx
    )
    return out


def _signs(rng: np.random.Generator, n: int) -> Floats:
    return rng.choice(np.array([-1.0, 1.0]), size=n)


def _rotation(images: Images, degrees: float, rng: np.random.Generator) -> Floats:
    n = len(images)
    return _warp(images, degrees * _signs(rng, n), np.ones(n), np.zeros(n), np.zeros(n))


def _shift(images: Images, pixels: float, rng: np.random.Generator) -> Floats:
    n = len(images)
    direction = rng.uniform(0, 2 * np.pi, size=n)
    return _warp(images, np.zeros(n), np.ones(n), pixels * np.sin(direction), pixels * np.cos(direction))


def _scale(images: Images, amount: float, rng: np.random.Generator) -> Floats:
    n = len(images)
    return _warp(images, np.zeros(n), 1 + amount * _signs(rng, n), np.zeros(n), np.zeros(n))


def _contrast(images: Images, factor: float, rng: np.random.Generator) -> Floats:
    offset = 64.0 * (1 - factor) * _signs(rng, len(images))[:, None, None]
    return (images.astype(np.float64) - 127.5) * factor + 127.5 + offset


def _noise(images: Images, sigma: float, rng: np.random.Generator) -> Floats:
    return images + rng.normal(0.0, sigma, size=images.shape)


def _blur(images: Images, sigma: float, rng: np.random.Generator) -> Floats:
    out: Floats = ndimage.gaussian_filter(images.astype(np.float64), sigma=(0, sigma, sigma), mode="nearest")
    return out


def _occlusion(images: Images, side: float, rng: np.random.Generator) -> Floats:
    k = round(side)
    n = len(images)
    top = rng.integers(0, _H - k + 1, size=n)[:, None, None]
    left = rng.integers(0, _W - k + 1, size=n)[:, None, None]
    rows = np.arange(_H)[None, :, None]
    cols = np.arange(_W)[None, None, :]
    mask = (rows >= top) & (rows < top + k) & (cols >= left) & (cols < left + k)
    return np.where(mask, 128.0, images.astype(np.float64))


CORRUPTIONS: dict[str, Callable[[Images, float, np.random.Generator], Floats]] = {
    "rotation": _rotation,
    "shift": _shift,
    "scale": _scale,
    "contrast": _contrast,
    "noise": _noise,
    "blur": _blur,
    "occlusion": _occlusion,
}

DEFAULT_CORRUPTIONS: dict[str, tuple[float, ...]] = {
    "rotation": (5.0, 10.0, 20.0),
    "shift": (2.0, 4.0, 6.0),
    "scale": (0.1, 0.2, 0.3),
    "contrast": (0.7, 0.5, 0.3),
    "noise": (8.0, 16.0, 32.0),
    "blur": (0.5, 1.0, 1.5),
    "occlusion": (6.0, 9.0, 12.0),
}

_LIMITS: dict[str, tuple[float, float]] = {
    "rotation": (0.0, 180.0),
    "shift": (0.0, 14.0),
    "scale": (0.0, 0.9),
    "contrast": (0.0, 1.0),
    "noise": (0.0, 255.0),
    "blur": (0.0, 10.0),
    "occlusion": (0.0, 28.0),
}


def validate_corruptions(
    corruptions: Mapping[str, Sequence[float]],
) -> dict[str, tuple[float, ...]]:
    """Check names and parameter ranges; return a plain ``{name: (p1, p2, ...)}`` copy."""
    out: dict[str, tuple[float, ...]] = {}
    for name, params in corruptions.items():
        if name not in CORRUPTIONS:
            raise InvalidParameterError(f"{name!r} is not a corruption; available: {', '.join(sorted(CORRUPTIONS))}")
        values = tuple(float(v) for v in params)
        lo, hi = _LIMITS[name]
        bad = [v for v in values if not lo <= v <= hi]
        if not values or bad:
            raise InvalidParameterError(
                f"corruption {name!r} needs one or more severity parameters in {lo:g}..{hi:g}, got {list(params)!r}"
            )
        out[name] = values
    return out


def corrupt(images: npt.ArrayLike, name: str, parameter: float, *, seed: int, level: int) -> Images:
    """Apply corruption ``name`` with ``parameter`` to a ``(N, 28, 28)`` batch (deterministic).

    ``level`` (the severity index) only enters the random seed, together with ``seed`` and the
    corruption name, so different severities draw independent random choices.
    """
    func = CORRUPTIONS.get(name)
    if func is None:
        raise InvalidParameterError(f"{name!r} is not a corruption; available: {', '.join(sorted(CORRUPTIONS))}")
    batch = np.asarray(images)
    if batch.ndim != 3 or batch.shape[1:] != (_H, _W):
        raise InvalidParameterError(f"corrupt() needs images of shape (N, 28, 28), got {batch.shape}")
    rng = np.random.default_rng([seed, zlib.crc32(name.encode()), level])
    out = func(batch.astype(np.uint8, copy=False), float(parameter), rng)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
