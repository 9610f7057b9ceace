"""How the training script gets its arrays from ``--data`` / ``--validation``.

``--data`` may be a directory holding ``sign_mnist_train.csv`` (an Azure mount or download), a
Sign MNIST CSV file, or an ``.npz`` file with ``images`` (N, 28, 28) uint8 and ``labels`` (N,)
int64 arrays (what the local backend hands its subprocess). CSVs are parsed and validated by
:mod:`asl_recognition.data`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from asl_recognition._io import atomic_write_bytes
from asl_recognition.errors import DatasetError, InvalidParameterError

__all__ = ["Arrays", "load_arrays", "save_npz", "split_validation"]

Arrays = tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]

TRAIN_FILE = "sign_mnist_train.csv"


def _checked(images: Any, labels: Any, source: str) -> Arrays:
    from asl_recognition.data import Dataset

    try:
        ds = Dataset.from_arrays(images, labels, name=source)
    except InvalidParameterError as exc:
        raise DatasetError(f"{source}: {exc}") from exc
    return ds.images, ds.labels


def save_npz(path: str | os.PathLike[str], images: Any, labels: Any) -> Path:
    """Write ``images``/``labels`` as an uncompressed ``.npz`` (atomically)."""
    import io

    buf = io.BytesIO()
    np.savez(buf, images=np.asarray(images, dtype=np.uint8), labels=np.asarray(labels, np.int64))
    return atomic_write_bytes(path, buf.getvalue())


def load_arrays(path: str | os.PathLike[str]) -> Arrays:
    """Load ``(images uint8 (N, 28, 28), labels int64 (N,))`` from a dir, CSV or ``.npz``."""
    p = Path(path)
    if p.is_dir():
        p = p / TRAIN_FILE
    if not p.is_file():
        raise DatasetError(f"{p}: no such data file (expected a directory with {TRAIN_FILE}, "
                           "a Sign MNIST CSV or an .npz file)")
    if p.suffix == ".npz":
        try:
            with np.load(p, allow_pickle=False) as data:
                return _checked(data["images"], data["labels"], str(p))
        except (KeyError, ValueError, OSError) as exc:
            raise DatasetError(f"{p}: not an .npz file with 'images' and 'labels': {exc}") from exc
    from asl_recognition.data import Dataset

    ds = Dataset.from_csv(p)
    return ds.images, ds.labels


def split_validation(images: Any, labels: Any, *, fraction: float, seed: int) -> tuple[Arrays, Arrays]:
    """Leak-free ``(train, validation)`` split through :meth:`Dataset.split_validation`."""
    from asl_recognition.data import Dataset

    train, val = Dataset.from_arrays(images, labels).split_validation(fraction=fraction, seed=seed)
    return (train.images, train.labels), (val.images, val.labels)
