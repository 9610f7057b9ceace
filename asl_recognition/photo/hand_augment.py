"""Synthetic variation of 3-D hand landmarks that Sign Language MNIST's few signers lack.

Sign MNIST shows a handful of hands from one viewpoint; people differ in hand proportions,
hold a letter at other angles to the camera, and the detector's landmarks are noisy. Each
training hand is therefore also shown (:func:`augment_hands`):

- **viewed from another angle**: rotated in 3-D about the wrist within letter-preserving limits
  (:data:`MAX_TILT` about the image's horizontal and vertical axes, :data:`MAX_ROLL` in the
  image plane: G/H point sideways and P/Q down, so larger turns would change the letter);
- **with other proportions**: each bone's length scaled by its own factor (:data:`BONE_SD`),
  joints moved along the chain so that angles are kept;
- **with other joint angles**: every joint bent a little (:data:`BEND_SD`) about its own axis;
- **as the detector sees it**: Gaussian noise on each landmark (:data:`NOISE_SD` palm lengths).

Both hands need no augmentation of their own: features mirror a hand of the other side to Sign
MNIST's (:mod:`asl_recognition.photo.hand_shape`).

>>> import numpy as np
>>> hands = np.random.default_rng(0).normal(size=(3, 21, 3))
>>> augment_hands(hands, copies=2, seed=0).shape
(6, 21, 3)
"""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt

from asl_recognition.photo.hand_shape import FINGERS

__all__ = ["BEND_SD", "BONE_SD", "MAX_ROLL", "MAX_TILT", "NOISE_SD", "augment_hands"]

FloatArray = npt.NDArray[np.float64]

#: Largest turn (radians) about the image's horizontal and vertical axes.
MAX_TILT = np.radians(25.0)
#: Largest turn (radians) in the image plane.
MAX_ROLL = np.radians(15.0)
#: Standard deviation of each bone's length factor (around 1).
BONE_SD = 0.08
#: Standard deviation (radians) of the extra bend at each joint.
BEND_SD = np.radians(6.0)
#: Standard deviation of landmark noise, in palm lengths.
NOISE_SD = 0.02


def _rotation(ax: FloatArray, ay: FloatArray, az: FloatArray) -> FloatArray:
    """``(N, 3, 3)`` rotations: about x by ``ax``, then y by ``ay``, then z by ``az``."""
    n = len(ax)
    c, s = np.cos, np.sin
    rx = np.zeros((n, 3, 3)); ry = np.zeros((n, 3, 3)); rz = np.zeros((n, 3, 3))  # noqa: E702
    rx[:, 0, 0] = 1; rx[:, 1, 1] = c(ax); rx[:, 1, 2] = -s(ax); rx[:, 2, 1] = s(ax); rx[:, 2, 2] = c(ax)  # noqa: E702
    ry[:, 1, 1] = 1; ry[:, 0, 0] = c(ay); ry[:, 0, 2] = s(ay); ry[:, 2, 0] = -s(ay); ry[:, 2, 2] = c(ay)  # noqa: E702
    rz[:, 2, 2] = 1; rz[:, 0, 0] = c(az); rz[:, 0, 1] = -s(az); rz[:, 1, 0] = s(az); rz[:, 1, 1] = c(az)  # noqa: E702
    return np.asarray(rz @ ry @ rx)


def _axis_rotate(v: FloatArray, axis: FloatArray, angle: FloatArray) -> FloatArray:
    """Rodrigues: rotate vectors ``v`` (N, 3) about unit ``axis`` (N, 3) by ``angle`` (N,)."""
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    return np.asarray(v * c + np.cross(axis, v) * s + axis * np.sum(axis * v, axis=1, keepdims=True) * (1 - c))


def augment_hands(hands: npt.ArrayLike, *, copies: int = 1, seed: int = 0) -> FloatArray:
    """``copies`` varied versions of each ``(21, 3)`` hand, shape ``(N * copies, 21, 3)``.

    Hands are repeated in order (hand 0's copies first), so labels repeat with
    ``np.repeat(labels, copies)``.
    """
    base = np.asarray(hands, dtype=np.float64).reshape(-1, 21, 3)
    rng = np.random.default_rng(seed)
    x = np.repeat(base, copies, axis=0) - np.repeat(base[:, :1], copies, axis=0)  # wrist at the origin
    n = len(x)
    palm = np.maximum(np.linalg.norm(x[:, 9], axis=1), 1e-9)
    # proportions and joint angles: rebuild each finger from its bones
    out = x.copy()
    normal = np.cross(x[:, 5], x[:, 17])
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-9)
    for chain in FINGERS:
        position = np.zeros((n, 3))
        for a, b in itertools.pairwise(chain):
            bone = x[:, b] - x[:, a]
            bone = bone * rng.normal(1.0, BONE_SD, size=(n, 1))
            if a != 0:  # bend about the axis across the finger (normal x bone)
                axis = np.cross(normal, bone)
                axis /= np.maximum(np.linalg.norm(axis, axis=1, keepdims=True), 1e-9)
                bone = _axis_rotate(bone, axis, rng.normal(0.0, BEND_SD, size=n))
            position = position + bone
            out[:, b] = position
    # the view: a turn about the wrist
    rot = _rotation(rng.uniform(-MAX_TILT, MAX_TILT, n), rng.uniform(-MAX_TILT, MAX_TILT, n),
                    rng.uniform(-MAX_ROLL, MAX_ROLL, n))  # fmt: skip
    out = np.einsum("nij,nkj->nki", rot, out)
    out += rng.normal(0.0, NOISE_SD, size=out.shape) * palm[:, None, None]
    return np.asarray(out)
