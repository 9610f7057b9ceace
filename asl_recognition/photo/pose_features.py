"""Hand-pose features: the hand's 21 landmarks as a classifier's input (``preprocessing: landmarks``).

A letter of the fingerspelling alphabet *is* a hand shape and orientation. Pixels carry it
mixed with what Sign Language MNIST happens to show (its few signers, their rooms and light),
which a model trained on them learns too; the landmarks of the hand carry the shape alone.
:class:`HandLandmarkFeatures` turns each 28x28 image into its landmarks
(:func:`~asl_recognition.photo.handpose.crop_landmarks`), expressed relative to the wrist and
in palm lengths (wrist to middle knuckle): invariant to where the hand is in the crop and to its
size, *not* to its rotation (G and H point sideways, P and Q down: orientation is part of the
letter). The landmark model's presence score is appended, so a classifier can learn how much
to trust a crop's landmarks.

On Sign MNIST such a pose classifier is weaker than a CNN on pixels (``docs/photos.md`` has the
measured accuracies), but it fails differently on real photos; the product of the two
(:mod:`asl_recognition.models.product`) reads more photos than either.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, TransformerMixin

from asl_recognition.data.arrays import IMAGE_SHAPE
from asl_recognition.photo.handpose import MIDDLE_KNUCKLE, WRIST, crop_landmarks

__all__ = ["N_FEATURES", "HandLandmarkFeatures", "pose_features"]

#: 20 landmarks x (x, y) relative to the wrist, and the presence score.
N_FEATURES = 41
#: The smallest palm length (crop pixels) divided by: a degenerate pose must not blow up.
MIN_PALM = 0.5


def pose_features(points: npt.NDArray[np.float64], presence: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    """``(N, 21, 2)`` landmarks and ``(N,)`` presence -> ``(N, 41)`` features (see module doc).

    >>> pts = np.zeros((1, 21, 2)); pts[0, MIDDLE_KNUCKLE] = (0.0, -10.0); pts[0, 20] = (5.0, -20.0)
    >>> f = pose_features(pts, np.array([0.9]))
    >>> f.shape, f[0, 2 * (MIDDLE_KNUCKLE - 1) + 1].item(), [round(float(v), 3) for v in f[0, 38:]]
    ((1, 41), -1.0, [0.5, -2.0, 0.9])
    """
    rel = points[:, 1:] - points[:, WRIST : WRIST + 1]
    palm = np.maximum(np.hypot(*rel[:, MIDDLE_KNUCKLE - 1].T), MIN_PALM)
    out = np.concatenate([(rel / palm[:, None, None]).reshape(len(points), -1), presence[:, None]], axis=1)
    return np.asarray(out, dtype=np.float32)


class HandLandmarkFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Pipeline step: (N, 784) images of 0..255 pixels -> (N, 41) hand-pose features.

    Stateless (the landmark model is the installed hand model, not part of the saved
    pipeline); needs the hand models (``asl-recognition install-hand-models``) to fit and to
    predict.
    """

    n_features = N_FEATURES

    def fit(self, X: Any, y: Any = None) -> HandLandmarkFeatures:
        """No-op (the landmark model is pretrained); returns self."""
        return self

    def transform(self, X: Any) -> npt.NDArray[np.float32]:
        """Features of a (N, 784) array of 0..255 pixels."""
        images = np.clip(np.rint(np.asarray(X, dtype=np.float32)), 0, 255).astype(np.uint8).reshape(-1, *IMAGE_SHAPE)
        points, presence = crop_landmarks(images)
        return pose_features(points, presence)
