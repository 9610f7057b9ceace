"""Hand-shape features from full-resolution 3-D landmarks: what a fingerspelled letter *is*.

A static ASL letter is a hand shape plus an orientation. :func:`hand_shape_features` turns the
21 landmarks of the learned detector (:class:`~asl_recognition.photo.handpose.HandPose`: the
world landmarks in metres when known, else the image landmarks with their relative depth) into
features that carry both, and nothing of the photo's size, position, light or background:

- **Canonical hand side**: a hand of the other side than Sign Language MNIST's is mirrored
  (x negated), so every hand is read as Sign MNIST's hand
  (:func:`~asl_recognition.photo.mirror.is_other_side`).
- **Shape, in the palm's own frame** (wrist at the origin, y towards the middle knuckle, z the
  palm normal, unit = palm length): the 20 other landmarks' coordinates. Invariant to the hand's
  rotation and size, so the closed-hand letters (A, S, T, N, M, E) differ only by where the
  thumb and fingertips lie.
- **Joint bends**: the cosine of the angle between consecutive bones of each finger (15).
- **Contacts**: distances between fingertips, and from the thumb tip to the joints of the other
  fingers (where the thumb tucks distinguishes M, N, S, T, E), in palm lengths.
- **Orientation, in the camera's frame**: the palm's pointing direction, its normal and the
  index and middle fingers' directions (G/H point sideways, P/Q down, U/H/R differ by
  orientation and crossing).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> pts = rng.normal(size=(2, 21, 3))
>>> f = hand_shape_features(pts, pts, np.array([False, True]))
>>> f.shape == (2, N_FEATURES), bool(np.isfinite(f).all())
(True, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["FINGERS", "N_FEATURES", "canonical_hands", "hand_shape_features", "shape_features"]

FloatArray = npt.NDArray[np.float64]

WRIST, INDEX_MCP, MIDDLE_MCP, PINKY_MCP = 0, 5, 9, 17
#: Each finger's chain of landmarks from the wrist to the tip (thumb first).
FINGERS: tuple[tuple[int, ...], ...] = (
    (0, 1, 2, 3, 4), (0, 5, 6, 7, 8), (0, 9, 10, 11, 12), (0, 13, 14, 15, 16), (0, 17, 18, 19, 20),
)  # fmt: skip
TIPS = (4, 8, 12, 16, 20)
THUMB_TIP = 4
#: The joints the thumb tip may touch or tuck under (MCP, PIP and DIP of the four fingers).
THUMB_TARGETS = (5, 6, 7, 9, 10, 11, 13, 14, 15, 17, 18, 19)
_TIP_PAIRS = tuple((a, b) for i, a in enumerate(TIPS) for b in TIPS[i + 1 :])
#: Guard for degenerate (collapsed) hands: lengths below this are treated as this.
EPS = 1e-6

N_FEATURES = 20 * 3 + 15 + len(_TIP_PAIRS) + len(THUMB_TARGETS) + 4 * 3


def _unit(v: npt.NDArray[np.floating[Any]]) -> FloatArray:
    return np.asarray(v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), EPS), dtype=np.float64)


def canonical_hands(points: npt.ArrayLike, world: npt.ArrayLike | None, other_side: npt.ArrayLike) -> FloatArray:
    """The ``(N, 21, 3)`` hands features are computed from: each row's world landmarks when
    known (a row of zeros is unknown), else its image landmarks with depth; mirrored (x negated)
    where ``other_side``, so every hand is Sign MNIST's side."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 21, 3)
    w = np.zeros_like(pts) if world is None else np.asarray(world, dtype=np.float64).reshape(pts.shape)
    known = np.abs(w).sum(axis=(1, 2)) > 0
    x = np.where(known[:, None, None], w, pts).copy()
    flip = np.asarray(other_side, dtype=bool).reshape(-1)
    x[flip, :, 0] *= -1.0
    return np.asarray(x)


def shape_features(hands: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Features of ``(N, 21, 3)`` canonical hands (:func:`canonical_hands`), see module doc."""
    x = np.asarray(hands, dtype=np.float64).reshape(-1, 21, 3).copy()
    x -= x[:, WRIST : WRIST + 1]
    palm = np.maximum(np.linalg.norm(x[:, MIDDLE_MCP], axis=1), EPS)
    x /= palm[:, None, None]

    up = _unit(x[:, MIDDLE_MCP])
    normal = _unit(np.cross(x[:, INDEX_MCP], x[:, PINKY_MCP]))
    across = _unit(np.cross(up, normal))
    normal = np.asarray(np.cross(across, up), dtype=np.float64)  # exactly orthogonal
    frame = np.stack([across, up, normal], axis=1)  # rows: the palm frame's axes
    local = np.einsum("nij,nkj->nki", frame, x)[:, 1:].reshape(len(x), -1)

    bends = []
    for chain in FINGERS:
        bones = _unit(x[:, list(chain[1:])] - x[:, list(chain[:-1])])
        bends.append(np.sum(bones[:, 1:] * bones[:, :-1], axis=2))
    tip_gaps = np.stack([np.linalg.norm(x[:, a] - x[:, b], axis=1) for a, b in _TIP_PAIRS], axis=1)
    thumb = np.linalg.norm(x[:, list(THUMB_TARGETS)] - x[:, THUMB_TIP : THUMB_TIP + 1], axis=2)
    pointing = [up, normal, _unit(x[:, 8] - x[:, 5]), _unit(x[:, 12] - x[:, 9])]
    out = np.concatenate([local, *bends, tip_gaps, thumb, *pointing], axis=1)
    return np.asarray(out, dtype=np.float32)


def hand_shape_features(
    points: npt.ArrayLike, world: npt.ArrayLike | None, other_side: npt.ArrayLike
) -> npt.NDArray[np.float32]:
    """``(N, 21, 3)`` landmarks -> ``(N, N_FEATURES)`` hand-shape features (see module doc).

    Args:
        points: image landmarks: x, y in pixels and relative depth in the same units.
        world: world landmarks in metres (``(N, 21, 3)``), or None; a row of zeros (unknown)
            falls back to that row's ``points``.
        other_side: ``(N,)`` True where the hand is the other side than Sign MNIST's.
    """
    return shape_features(canonical_hands(points, world, other_side))
