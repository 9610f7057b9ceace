"""Registering the training data and the leak-free validation split as workspace datasets.

A :class:`~asl_recognition.data.Dataset` is written as a Sign MNIST CSV (``label,pixel1..784``),
uploaded to the default datastore and registered as a tabular dataset tagged with its content
fingerprint. A registration whose fingerprint matches is reused, so re-running uploads nothing.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from asl_recognition._io import atomic_write_bytes
from asl_recognition.azure.gateway import AzureGateway, RegisteredData

if TYPE_CHECKING:
    from asl_recognition.data.dataset import Dataset

__all__ = ["CSV_NAME", "ensure_dataset", "write_csv"]

log = logging.getLogger(__name__)

#: file name of every uploaded CSV. Deliberately not an official file name: the training script
#: verifies files named like the official ones against their fingerprints, and a split is not
#: the official file. File datasets point at this one file, so ``--data`` receives its path.
CSV_NAME = "sign_language_mnist.csv"

_HEADER = "label," + ",".join(f"pixel{i}" for i in range(1, 785))


def write_csv(dataset: Dataset, path: Path) -> Path:
    """Write ``dataset`` as a Sign MNIST CSV (header, one image per row) atomically.

    >>> import numpy as np, tempfile
    >>> from asl_recognition.data import Dataset
    >>> ds = Dataset.from_arrays(np.zeros((1, 784), np.uint8), [2])
    >>> p = write_csv(ds, Path(tempfile.mkdtemp()) / "x.csv")
    >>> p.read_text().splitlines()[1][:8]
    '2,0,0,0,'
    """
    rows = np.column_stack([dataset.labels.astype(np.int64), dataset.images.reshape(len(dataset), -1)])
    lines = "\n".join(",".join(map(str, row)) for row in rows.tolist())
    return atomic_write_bytes(path, (_HEADER + "\n" + lines + "\n").encode("ascii"))


def ensure_dataset(gateway: AzureGateway, dataset: Dataset, *, name: str, description: str) -> RegisteredData:
    """Register ``dataset`` as ``name`` unless a version with the same fingerprint exists."""
    fingerprint = dataset.fingerprint
    found = gateway.find_dataset(name, fingerprint=fingerprint)
    if found is not None:
        log.info("azure: reusing dataset %s version %s", name, found.version)
        return found
    with tempfile.TemporaryDirectory(prefix="asl-azure-data-") as tmp:
        csv = write_csv(dataset, Path(tmp) / CSV_NAME)
        log.info("azure: uploading %d rows as dataset %s", len(dataset), name)
        return gateway.upload_dataset(
            csv,
            name=name,
            description=description,
            tags={"fingerprint": fingerprint, "rows": str(len(dataset)), "source": dataset.name},
        )
