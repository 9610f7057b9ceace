"""Sign Language MNIST data: validated loading, integrity, caching, download, leak-free splits.

>>> from asl_recognition.data import Dataset, load_dataset
>>> import numpy as np
>>> Dataset.from_arrays(np.zeros((2, 784), np.uint8), [0, 1]).letters.tolist()
['A', 'B']

Main entry points: :func:`load_dataset` (the official ``train``/``test`` files, found or
downloaded and always verified), :meth:`Dataset.from_csv` (any Sign MNIST CSV, strictly
validated), :meth:`Dataset.split_validation` (grouped, leak-free validation split).
"""

from __future__ import annotations

from asl_recognition._paths import CACHE_ENV, default_cache_dir
from asl_recognition.data._fingerprint import OFFICIAL_FINGERPRINTS, OFFICIAL_ROWS
from asl_recognition.data._sources import DATA_DIR_ENV, DEFAULT_URLS, DOWNLOAD_ENV
from asl_recognition.data._split import DEFAULT_N_COMPONENTS, DEFAULT_THRESHOLD
from asl_recognition.data.dataset import Dataset, load_dataset

__all__ = [
    "CACHE_ENV",
    "DATA_DIR_ENV",
    "DEFAULT_N_COMPONENTS",
    "DEFAULT_THRESHOLD",
    "DEFAULT_URLS",
    "DOWNLOAD_ENV",
    "OFFICIAL_FINGERPRINTS",
    "OFFICIAL_ROWS",
    "Dataset",
    "default_cache_dir",
    "load_dataset",
]
