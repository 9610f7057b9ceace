"""Colour constancy and exposure for skin detection: undo a colour cast of the light (grey-world)
and an underexposure.

The skin test of :mod:`asl_recognition.photo.localize` is a fixed chroma range (Chai & Ngan
1999) that holds for skin photographed under roughly white light. Under tungsten light or
with a camera's failed white balance, every colour in the photo is shifted: a white wall
turns cream and enters the skin range, or the hand turns bluish and leaves it, and the hand is
lost (measured in ``docs/photos.md``).

:func:`white_balance_gains` estimates the light's colour with the *grey-world* assumption
(Buchsbaum 1980: the average reflectance of a scene is achromatic) and returns the von Kries
per-channel gains that make that average grey. Clipped and near-black pixels carry no colour
and are ignored; the gains are bounded by :data:`MAX_GAIN` so that a scene that really is
dominated by one colour (a yellow wall, a close-up of skin) is not turned into its opposite.
Grey-world fails on such scenes, which is why :func:`~asl_recognition.photo.localize.find_hand`
searches both the photo as taken and the balanced photo, and takes the balanced result only
when it holds the only hand or a larger palm.

>>> import numpy as np
>>> warm = np.full((8, 8, 3), (200, 160, 120), np.uint8)   # a grey card under warm light
>>> balanced = apply_gains(warm, white_balance_gains(warm))
>>> balanced[0, 0].tolist()
[160, 160, 160]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "EXPOSURE_TARGET",
    "LUMA_WEIGHTS",
    "MAX_EXPOSURE",
    "MAX_GAIN",
    "NEUTRAL",
    "UNDEREXPOSED",
    "apply_gains",
    "exposure_gain",
    "normalising_gains",
    "white_balance_gains",
]

#: ITU-R BT.601 luma weights of R, G, B (as JPEG's YCbCr and Pillow's ``convert("L")``).
LUMA_WEIGHTS: tuple[float, float, float] = (0.299, 0.587, 0.114)
#: Gains that change nothing.
NEUTRAL: tuple[float, float, float] = (1.0, 1.0, 1.0)
#: Largest correction of one channel relative to green (and smallest: its inverse): covers
#: tungsten light under a camera set for daylight (red/blue about 1.3/0.7 after the camera's
#: own processing) while bounding the damage of grey-world on a one-colour scene.
MAX_GAIN = 1.6
#: Pixels whose brightest channel reaches this are clipped: their colour is the sensor's limit.
CLIPPED = 250
#: Pixels darker than this (mean of the channels) have noise for colour.
DARK = 20
#: Fewest usable pixels for an estimate; below it no correction is made.
MIN_PIXELS = 64
#: A photo whose brightest 1 % of pixels (walls, highlights) is darker than mid-grey is
#: underexposed by any standard; brighter photos are left as they are (their exposure is a
#: matter of taste, and any change moves borderline skin pixels in or out of the range).
UNDEREXPOSED = 128.0
#: An underexposed photo is brightened until its 99th luma percentile reaches this, just below
#: clipping, as a well-exposed photo's brightest pixels are.
EXPOSURE_TARGET = 235.0
#: Most brightening :func:`exposure_gain` applies (an underexposure of one stop).
MAX_EXPOSURE = 2.0


def white_balance_gains(rgb: npt.NDArray[np.uint8]) -> tuple[float, float, float]:
    """Per-channel gains (green = 1) that make the photo's average colour grey (grey-world).

    Only pixels that are neither clipped nor near black count. Each gain is bounded to
    ``[1 / MAX_GAIN, MAX_GAIN]``; an image with too few usable pixels gets :data:`NEUTRAL`.

    >>> import numpy as np
    >>> white_balance_gains(np.full((8, 8, 3), 128, np.uint8))
    (1.0, 1.0, 1.0)
    """
    x = np.asarray(rgb).reshape(-1, 3).astype(np.float64)
    usable = (x.max(axis=1) < CLIPPED) & (x.mean(axis=1) > DARK)
    if usable.sum() < MIN_PIXELS:
        return NEUTRAL
    mean = x[usable].mean(axis=0)
    gains = np.clip(mean[1] / np.maximum(mean, 1e-6), 1.0 / MAX_GAIN, MAX_GAIN)
    return (float(gains[0]), 1.0, float(gains[2]))


def exposure_gain(rgb: npt.NDArray[np.uint8]) -> float:
    """The brightening of an underexposed photo: 1 unless its 99th luma percentile is below
    :data:`UNDEREXPOSED`, then what lifts that percentile to :data:`EXPOSURE_TARGET` (at most
    :data:`MAX_EXPOSURE`). Chroma shrinks with exposure, so the shaded skin of an underexposed
    photo leaves the skin range. Never darkens.

    >>> import numpy as np
    >>> [exposure_gain(np.full((8, 8, 3), v, np.uint8)) for v in (94, 200)]
    [2.0, 1.0]
    """
    x = np.asarray(rgb, dtype=np.float32).reshape(-1, 3)
    high = float(np.percentile(x @ np.asarray(LUMA_WEIGHTS, np.float32), 99)) if len(x) else 0.0
    if high >= UNDEREXPOSED:
        return 1.0
    return float(np.clip(EXPOSURE_TARGET / max(high, 1.0), 1.0, MAX_EXPOSURE))


def normalising_gains(rgb: npt.NDArray[np.uint8]) -> tuple[float, float, float]:
    """Per-channel gains that white-balance (:func:`white_balance_gains`) and expose
    (:func:`exposure_gain`) the photo: what makes it look as if taken under white light, well
    exposed, as the skin range of :mod:`asl_recognition.photo.localize` assumes.

    >>> import numpy as np
    >>> [round(g, 3) for g in normalising_gains(np.full((8, 8, 3), (120, 100, 80), np.uint8))]
    [1.667, 2.0, 2.5]
    """
    e = exposure_gain(rgb)
    r, g, b = white_balance_gains(rgb)
    return (r * e, g * e, b * e)


def apply_gains(rgb: npt.NDArray[np.uint8], gains: tuple[float, float, float]) -> npt.NDArray[np.uint8]:
    """``rgb`` with each channel multiplied by its gain (rounded, clipped to 0..255); a copy."""
    if tuple(gains) == NEUTRAL:
        return np.array(rgb, dtype=np.uint8, copy=True)
    out = np.asarray(rgb, dtype=np.float32) * np.asarray(gains, dtype=np.float32)
    return np.asarray(np.clip(np.rint(out), 0, 255), dtype=np.uint8)
