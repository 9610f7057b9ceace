"""Content fingerprints of parsed data, and the fingerprints of the official files.

The fingerprint hashes the parsed arrays (shape, labels, pixels), not the file bytes, so LF and
CRLF copies, ``.csv`` and ``.csv.gz`` copies of the same data all agree.

>>> import numpy as np
>>> fp = content_fingerprint(np.zeros((1, 28, 28), np.uint8), np.zeros(1, np.int64))
>>> fp.startswith("sha256:"), len(fp)
(True, 71)
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "OFFICIAL_FINGERPRINTS",
    "OFFICIAL_ROWS",
    "OfficialSplit",
    "content_fingerprint",
    "official_split_of_name",
    "official_split_of_rows",
]

OfficialSplit = Literal["train", "test"]

_VERSION = b"asl_recognition.sign_mnist.v1"

#: Fingerprints of the official Kaggle files (computed from the files listed in the data README:
#: train sha256 b7ff39ad..., test sha256 178c0dd2...).
OFFICIAL_FINGERPRINTS: dict[OfficialSplit, str] = {
    "train": "sha256:ff2bb9c1ff640a495c33a661b4722e27f173d817f68378fcf697ed201c4b919e",
    "test": "sha256:3f6f3997d2deb9b351f8e45bf6e1c7e98b32efc4d0c68829f86d34fcab3a8895",
}
OFFICIAL_ROWS: dict[OfficialSplit, int] = {"train": 27_455, "test": 7_172}

_OFFICIAL_NAME = re.compile(r"sign_mnist_(train|test)\.csv(?:\.gz)?")


def content_fingerprint(images: npt.NDArray[np.uint8], labels: npt.NDArray[np.int64]) -> str:
    """Return ``"sha256:<hex>"`` over the shape, labels (int64 LE) and pixels (uint8)."""
    h = hashlib.sha256(_VERSION)
    h.update(f"|{len(labels)}x{images.shape[1:]}|".encode())
    h.update(np.ascontiguousarray(labels, dtype="<i8").data)
    h.update(np.ascontiguousarray(images, dtype=np.uint8).data)
    return "sha256:" + h.hexdigest()


def official_split_of_name(path: str | Path) -> OfficialSplit | None:
    """``"train"``/``"test"`` when the file is named like an official file, else ``None``.

    >>> official_split_of_name("data/sign_mnist_test.csv.gz")
    'test'
    >>> official_split_of_name("mine.csv") is None
    True
    """
    match = _OFFICIAL_NAME.fullmatch(Path(path).name)
    return None if match is None else match.group(1)  # type: ignore[return-value]


def official_split_of_rows(rows: int) -> OfficialSplit | None:
    """``"train"``/``"test"`` when ``rows`` is the row count of an official file, else ``None``."""
    for split, n in OFFICIAL_ROWS.items():
        if n == rows:
            return split
    return None
