"""Tiny synthetic Sign-MNIST-like data for tests: arrays with known near-duplicate groups, CSV text.

>>> images, labels, groups = synthetic_groups(n_groups=4, per_group=3, seed=0)
>>> images.shape, labels.tolist()[:4], groups.tolist()[:4]
((12, 28, 28), [0, 0, 0, 1], [0, 0, 0, 1])
>>> to_csv_bytes(images[:1], labels[:1]).count(b"\\n")
2
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from asl_recognition.data._csv import HEADER
from asl_recognition.data.letters import VALID_LABELS

__all__ = ["synthetic_groups", "to_csv_bytes"]


def synthetic_groups(
    *, n_groups: int, per_group: int, seed: int = 0, n_letters: int = 24
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``(images, labels, group ids)``: ``n_groups`` random photos, each in ``per_group`` variants.

    Variants differ by brightness/contrast and +-2 noise, so they are near-duplicates; distinct
    photos are far apart. Group ``g`` has label ``VALID_LABELS[g % n_letters]``.
    """
    rng = np.random.default_rng(seed)
    base = rng.integers(40, 200, size=(n_groups, 28, 28)).astype(np.float64)
    gain = rng.uniform(0.8, 1.2, size=(n_groups, per_group, 1, 1))
    offset = rng.uniform(-20, 20, size=(n_groups, per_group, 1, 1))
    noise = rng.integers(-2, 3, size=(n_groups, per_group, 28, 28))
    images = np.clip(base[:, None] * gain + offset + noise, 0, 255).astype(np.uint8)
    group_ids = np.repeat(np.arange(n_groups, dtype=np.int64), per_group)
    letters = np.asarray(VALID_LABELS, dtype=np.int64)[np.arange(n_groups) % n_letters]
    return images.reshape(-1, 28, 28), np.repeat(letters, per_group), group_ids


def to_csv_bytes(
    images: npt.NDArray[np.uint8],
    labels: npt.NDArray[np.int64],
    *,
    newline: str = "\n",
    bom: bool = False,
) -> bytes:
    """Render arrays as a Sign MNIST CSV (header, one row per image, final newline)."""
    rows = [HEADER]
    flat = np.asarray(images).reshape(len(images), -1)
    for label, pixels in zip(labels, flat, strict=True):
        rows.append(f"{int(label)}," + ",".join(map(str, pixels.tolist())))
    text = newline.join(rows) + newline
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("ascii")
