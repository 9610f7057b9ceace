"""Real photos: hand localisation, Sign-MNIST-like normalisation, photo-like augmentation.

Sign Language MNIST models read tight, centred 28x28 greyscale hand crops. This package maps a
real photo to that distribution (:func:`preprocess_photo`, called by
:func:`asl_recognition.images.preprocess_image` for colour photos) and provides the
training-time augmentation (:func:`augment_photo_like`, the CNN backend's
``photo_augment=True``) that teaches a model the conditions the preprocessing cannot remove.
See ``docs/photos.md`` for each step and why.

>>> import numpy as np
>>> preprocess_photo(np.full((64, 64, 3), (90, 120, 200), np.uint8)).hand is None
True
"""

from __future__ import annotations

from asl_recognition.photo.augment import PhotoAugmentation, augment_photo_like
from asl_recognition.photo.box import HandBox
from asl_recognition.photo.localize import find_hand
from asl_recognition.photo.mirror import MIRRORABLE_LETTERS, mirror, random_mirror
from asl_recognition.photo.normalize import match_contrast
from asl_recognition.photo.pipeline import PhotoResult, is_colour_photo, preprocess_photo
from asl_recognition.photo.skin import skin_mask

__all__ = [
    "MIRRORABLE_LETTERS",
    "HandBox",
    "PhotoAugmentation",
    "PhotoResult",
    "augment_photo_like",
    "find_hand",
    "is_colour_photo",
    "match_contrast",
    "mirror",
    "preprocess_photo",
    "random_mirror",
    "skin_mask",
]
