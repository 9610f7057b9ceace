"""Feed Keras ``fit`` with freshly photo-augmented batches every epoch (``photo_augment=True``).

Keras is passed in (never imported here), so this module imports without TensorFlow.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from asl_recognition.photo.augment import PhotoAugmentation, augment_photo_like

__all__ = ["photo_batches"]


def photo_batches(
    keras: Any,
    images: npt.NDArray[Any],
    labels: npt.NDArray[np.int64],
    targets: npt.NDArray[np.float32],
    *,
    batch_size: int,
    seed: int,
    params: PhotoAugmentation | None = None,
) -> Any:
    """A ``keras.utils.PyDataset`` of ``(augmented float32 images, targets)`` batches.

    Batches are shuffled each epoch; every (epoch, batch) pair has its own random stream
    derived from ``seed``, so a run is reproducible.
    """

    class _PhotoBatches(keras.utils.PyDataset):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.epoch = 0
            self.order = np.random.default_rng([seed, 0]).permutation(len(images))

        def __len__(self) -> int:
            return math.ceil(len(images) / batch_size)

        def __getitem__(self, index: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
            idx = self.order[index * batch_size : (index + 1) * batch_size]
            rng = np.random.default_rng([seed, self.epoch + 1, index])
            batch = augment_photo_like(images[idx], labels[idx], rng, params)
            return batch.astype(np.float32), targets[idx]

        def on_epoch_end(self) -> None:
            self.epoch += 1
            self.order = np.random.default_rng([seed, self.epoch]).permutation(len(images))

    return _PhotoBatches()
