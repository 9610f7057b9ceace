"""Tiny synthetic Sign-MNIST-like data for unit and conformance tests (no real data needed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from asl_recognition.data.letters import VALID_LABELS
from asl_recognition.errors import InvalidParameterError

if TYPE_CHECKING:
    from asl_recognition.data.dataset import Dataset

__all__ = ["synthetic_dataset", "synthetic_images"]


def synthetic_images(
    labels: Sequence[int] | npt.NDArray[np.integer], *, seed: int = 0, noise: float = 20.0
) -> npt.NDArray[np.uint8]:
    """One 28x28 uint8 image per label: a label-specific bar pattern plus noise.

    Each label gets a bright horizontal bar at a label-dependent row and a vertical bar at a
    label-dependent column, on a mid-grey background, so every classifier family can learn the
    letters from a few dozen examples, while the noise keeps the images distinct.

    >>> synthetic_images([0, 1]).shape
    (2, 28, 28)
    """
    rng = np.random.default_rng(seed)
    labs = np.asarray(labels, dtype=np.int64)
    images = np.full((len(labs), 28, 28), 90.0, dtype=np.float32)
    for i, label in enumerate(labs):
        row = 3 + (int(label) * 5) % 22
        col = 3 + (int(label) * 11) % 22
        images[i, row : row + 3, 2:26] = 230.0
        images[i, 2:26, col : col + 3] = 200.0
    images += rng.normal(0.0, noise, size=images.shape).astype(np.float32)
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


def synthetic_dataset(
    n_per_letter: int = 12,
    *,
    labels: Sequence[int] = VALID_LABELS,
    seed: int = 0,
    name: str = "synthetic",
) -> Dataset:
    """A small :class:`~asl_recognition.data.Dataset` of :func:`synthetic_images`.

    >>> ds = synthetic_dataset(2, labels=[0, 1, 2])
    >>> len(ds), sorted(set(ds.labels.tolist()))
    (6, [0, 1, 2])
    """
    from asl_recognition.data import Dataset

    if n_per_letter < 1:
        raise InvalidParameterError(f"'n_per_letter' must be >= 1, got {n_per_letter}")
    labs = np.repeat(np.asarray(labels, dtype=np.int64), n_per_letter)
    rng = np.random.default_rng(seed)
    labs = labs[rng.permutation(len(labs))]
    return Dataset.from_arrays(synthetic_images(labs, seed=seed), labs, name=name)
