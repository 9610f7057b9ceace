"""Training-time "real conditions" augmentation of 28x28 Sign MNIST images (NumPy/SciPy only).

The photo preprocessing (:mod:`asl_recognition.photo.pipeline`) cuts the hand out of a photo,
but never as precisely as the Sign MNIST crops were made, and the room, light and camera
differ. :func:`augment_photo_like` makes training images that look like such imperfect crops,
so that a model learns to ignore what the preprocessing cannot remove:

- **mirror**: left hands (:mod:`asl_recognition.photo.mirror`), probability 0.5;
- **scale / position / rotation**: the hand box is off by up to ~25 % in size and ~12 % in
  position, the hand tilted by up to 15 degrees;
- **background clutter**: the area a zoom-out or shift uncovers is filled with a synthetic
  room (smooth shading plus straight edges of walls, frames and furniture) instead of
  stretched edge pixels;
- **lighting**: gamma, brightness/contrast and a linear illumination gradient across the
  image (a window on one side);
- **blur and noise**: a low-resolution or defocused camera and sensor noise;
- **contrast normalisation**: half of the images get the same
  :func:`~asl_recognition.photo.normalize.match_contrast` the photo preprocessing applies.

Only a fraction (``photo_fraction``, default 0.5) of the images get the heavy "photo"
treatment; the rest get a light affine jitter (like the CNN backend's own augmentation) so
that accuracy on Sign MNIST itself is kept. Every random choice comes from the ``rng`` passed
in, so a seed reproduces a batch exactly.

>>> import numpy as np
>>> imgs = np.full((4, 28, 28), 150, np.uint8)
>>> out = augment_photo_like(imgs, np.zeros(4, np.int64), np.random.default_rng(0))
>>> out.shape, out.dtype
((4, 28, 28), dtype('uint8'))
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt

from asl_recognition._validation import Interval, check_param
from asl_recognition.errors import InvalidParameterError
from asl_recognition.photo.mirror import random_mirror
from asl_recognition.photo.normalize import match_contrast

__all__ = ["PhotoAugmentation", "augment_photo_like"]


@dataclasses.dataclass(frozen=True)
class PhotoAugmentation:
    """Strengths of the "real conditions" augmentation (defaults justified in docs/photos.md).

    >>> PhotoAugmentation(photo_fraction=2)
    Traceback (most recent call last):
    ...
    asl_recognition.errors.InvalidParameterError: 'photo_fraction' must be in [0, 1], got 2
    """

    photo_fraction: float = 0.5
    mirror: float = 0.5
    rotation: float = 15.0
    scale: tuple[float, float] = (0.75, 1.25)
    shift: float = 0.12
    light_rotation: float = 8.0
    light_scale: float = 0.08
    light_shift: float = 2.0
    gamma: tuple[float, float] = (0.6, 1.6)
    contrast: tuple[float, float] = (0.7, 1.3)
    brightness: float = 40.0
    gradient: float = 0.35
    blur: float = 1.0
    noise: float = 6.0
    normalize: float = 0.5

    def __post_init__(self) -> None:
        for name in ("photo_fraction", "mirror", "normalize"):
            check_param(name, getattr(self, name), Interval(float, 0, 1))
        for name in ("rotation", "shift", "light_rotation", "light_scale", "light_shift", "brightness",
                     "gradient", "blur", "noise"):
            check_param(name, getattr(self, name), Interval(float, 0, None))
        for name in ("scale", "gamma", "contrast"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise InvalidParameterError(f"{name!r} must be (low, high) with 0 < low <= high, got {(lo, hi)!r}")


def _clutter(rng: np.random.Generator, size: int) -> npt.NDArray[np.float32]:
    """A synthetic room: smooth shading plus 0-3 straight edges (walls, frames, furniture)."""
    from scipy import ndimage

    base = rng.uniform(20, 235)
    coarse = rng.normal(0.0, rng.uniform(5, 40), (4, 4))
    field = base + ndimage.zoom(coarse, size / 4, order=1)[:size, :size]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    for _ in range(int(rng.integers(0, 4))):
        angle = rng.uniform(0, math.pi)
        offset = rng.uniform(-size / 2, size / 2)
        side = (xx - size / 2) * math.cos(angle) + (yy - size / 2) * math.sin(angle) > offset
        field = np.where(side, field + rng.uniform(-80, 80), field)
    return np.asarray(np.clip(field, 0, 255), dtype=np.float32)


def _warp(
    img: npt.NDArray[np.float32], *, angle: float, scale: float, dy: float, dx: float,
    fill: npt.NDArray[np.float32] | None,
) -> npt.NDArray[np.float32]:
    """Rotate by ``angle`` (radians) and zoom by ``scale`` about the centre, then shift; the
    uncovered area takes ``fill`` (or the nearest edge pixels when ``fill`` is None)."""
    from scipy import ndimage

    size = img.shape[0]
    c = (size - 1) / 2.0
    cos, sin = math.cos(angle) / scale, math.sin(angle) / scale
    matrix = np.array([[cos, -sin], [sin, cos]], dtype=np.float64)
    offset = np.array([c, c]) - matrix @ np.array([c + dy, c + dx])
    if fill is None:
        return np.asarray(ndimage.affine_transform(img, matrix, offset, order=1, mode="nearest"), np.float32)
    warped = ndimage.affine_transform(img, matrix, offset, order=1, mode="constant", cval=-1.0)
    inside = ndimage.affine_transform(np.ones_like(img), matrix, offset, order=1, mode="constant", cval=0.0)
    out = np.where(warped < 0, fill, inside * warped + (1 - inside) * fill)
    return np.asarray(out, dtype=np.float32)


def _photo_like(
    img: npt.NDArray[np.float32], rng: np.random.Generator, p: PhotoAugmentation
) -> npt.NDArray[np.float32]:
    """The heavy treatment of one image (values 0..255 float)."""
    from scipy import ndimage

    size = img.shape[0]
    scale = math.exp(rng.uniform(math.log(p.scale[0]), math.log(p.scale[1])))
    x = _warp(img, angle=math.radians(rng.uniform(-p.rotation, p.rotation)), scale=scale,
              dy=rng.uniform(-p.shift, p.shift) * size, dx=rng.uniform(-p.shift, p.shift) * size,
              fill=_clutter(rng, size))
    # lighting: gamma, contrast about the mean, brightness, then an illumination gradient
    x = 255.0 * (x / 255.0) ** rng.uniform(*p.gamma)
    mean = float(x.mean())
    x = (x - mean) * rng.uniform(*p.contrast) + mean + rng.uniform(-p.brightness, p.brightness)
    angle = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / (size - 1) - 0.5
    x = x * (1.0 + rng.uniform(0, p.gradient) * 2 * (xx * math.cos(angle) + yy * math.sin(angle)))
    # camera: blur, then sensor noise
    if p.blur > 0 and rng.random() < 0.5:
        x = ndimage.gaussian_filter(x, sigma=rng.uniform(0.3, p.blur))
    if p.noise > 0:
        x = x + rng.normal(0.0, rng.uniform(0, p.noise), x.shape)
    x = np.clip(x, 0, 255)
    if rng.random() < p.normalize:
        x = match_contrast(np.rint(x).astype(np.uint8)).astype(np.float32)
    return np.asarray(x, dtype=np.float32)


def _light(img: npt.NDArray[np.float32], rng: np.random.Generator, p: PhotoAugmentation) -> npt.NDArray[np.float32]:
    """The light treatment: a small affine jitter only."""
    scale = 1.0 + rng.uniform(-p.light_scale, p.light_scale)
    return _warp(img, angle=math.radians(rng.uniform(-p.light_rotation, p.light_rotation)), scale=scale,
                 dy=rng.uniform(-p.light_shift, p.light_shift), dx=rng.uniform(-p.light_shift, p.light_shift),
                 fill=None)


def augment_photo_like(
    images: npt.ArrayLike,
    labels: npt.ArrayLike,
    rng: np.random.Generator,
    params: PhotoAugmentation | None = None,
) -> npt.NDArray[np.uint8]:
    """Return augmented copies of ``(N, 28, 28)`` images (0..255) as uint8; inputs are not changed.

    ``labels`` decide which images may be mirrored (see :mod:`asl_recognition.photo.mirror`).
    """
    p = params or PhotoAugmentation()
    arr = np.asarray(images)
    labs = np.asarray(labels)
    if arr.ndim != 3 or labs.shape != (len(arr),):
        raise InvalidParameterError(
            f"expected images (N, H, W) and labels (N,), got {arr.shape} and {labs.shape}"
        )
    mirrored, _ = random_mirror(np.clip(np.rint(arr), 0, 255).astype(np.uint8), labs, rng, probability=p.mirror)
    out = np.empty(arr.shape, dtype=np.uint8)
    heavy = rng.random(len(arr)) < p.photo_fraction
    for i in range(len(arr)):
        img = mirrored[i].astype(np.float32)
        res = _photo_like(img, rng, p) if heavy[i] else _light(img, rng, p)
        out[i] = np.clip(np.rint(res), 0, 255).astype(np.uint8)
    return out
