"""The :class:`Dataset` (validated, read-only image/label arrays) and :func:`load_dataset`.

>>> import numpy as np
>>> ds = Dataset.from_arrays(np.zeros((3, 28, 28), np.uint8), [0, 1, 24])
>>> len(ds), ds.letters.tolist(), ds.images.flags.writeable
(3, ['A', 'B', 'Y'], False)
>>> ds.subset([2]).letters.tolist()
['Y']
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from asl_recognition._paths import default_cache_dir
from asl_recognition.data import _cache, _split
from asl_recognition.data._csv import parse_csv_bytes, read_csv_file
from asl_recognition.data._download import download_csv
from asl_recognition.data._fingerprint import (
    OFFICIAL_FINGERPRINTS,
    OfficialSplit,
    content_fingerprint,
    official_split_of_name,
    official_split_of_rows,
)
from asl_recognition.data._sources import (
    DEFAULT_URLS,
    candidate_paths,
    download_enabled,
    search_dirs,
)
from asl_recognition.data.arrays import as_image_batch
from asl_recognition.data.letters import labels_to_letters
from asl_recognition.errors import (
    DatasetError,
    DatasetIntegrityError,
    InvalidParameterError,
)

__all__ = ["Dataset", "load_dataset"]

_log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
Verify = bool | Literal["auto"]
#: Row count below which :meth:`Dataset.groups` does not bother caching (it is instant there).
_GROUP_CACHE_MIN_ROWS = 2000


def _read_only(arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False)
class Dataset:
    """Sign Language MNIST images with their labels; read-only, every method returns a new one.

    Attributes:
        images: ``(N, 28, 28)`` uint8 pixels (read-only).
        labels: ``(N,)`` int64 letter indexes, 0=A ... 24=Y, never 9 or 25 (read-only).
        name: ``"train"``, ``"test"``, the file stem, or ``"arrays"``.
        source: the CSV it was read from, if any.

    Build one with :meth:`from_csv`, :meth:`from_arrays` or :func:`load_dataset`; the
    constructor trusts its arguments.
    """

    images: npt.NDArray[np.uint8]
    labels: npt.NDArray[np.int64]
    name: str = "arrays"
    source: Path | None = None
    _fingerprint: list[str] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        _read_only(self.images)
        _read_only(self.labels)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __repr__(self) -> str:
        return f"Dataset(name={self.name!r}, n={len(self)}, source={self.source!r})"

    @property
    def letters(self) -> npt.NDArray[np.str_]:
        """``(N,)`` letters of the labels ('A' ... 'Y')."""
        return labels_to_letters(self.labels)

    @property
    def fingerprint(self) -> str:
        """Content fingerprint ``"sha256:..."`` of the parsed arrays (computed once)."""
        if not self._fingerprint:
            self._fingerprint.append(content_fingerprint(self.images, self.labels))
        return self._fingerprint[0]

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_arrays(
        cls, images: Any, labels: Any, *, name: str = "arrays"
    ) -> Dataset:
        """Validate and copy ``images`` ((N, 28, 28) or (N, 784), integers 0..255) and ``labels``.

        Raises:
            InvalidParameterError: wrong shapes, non-integer or out-of-range pixels, invalid
                labels, or different lengths.
        """
        batch = as_image_batch(images, what="images")
        if not np.array_equal(batch, np.round(batch)):
            raise InvalidParameterError("images must hold whole numbers 0..255")
        lab = np.asarray(labels)
        if lab.ndim != 1:
            raise InvalidParameterError(f"labels must be 1-dimensional, got shape {lab.shape}")
        if lab.size and not np.issubdtype(lab.dtype, np.integer):
            raise InvalidParameterError(f"labels must be integers, got dtype {lab.dtype}")
        if len(lab) != len(batch):
            raise InvalidParameterError(
                f"images and labels differ in length: {len(batch)} images, {len(lab)} labels"
            )
        labels_to_letters(lab.astype(np.int64))  # raises on 9, 25, negatives, > 25
        return cls(batch.astype(np.uint8), lab.astype(np.int64, copy=True), name=name)

    @classmethod
    def from_csv(
        cls,
        path: PathLike,
        *,
        verify: Verify = "auto",
        allow_modified: bool = False,
        cache: bool = True,
        cache_dir: PathLike | None = None,
    ) -> Dataset:
        """Load and validate a Sign MNIST CSV (``.csv`` or ``.csv.gz``).

        Args:
            path: the file.
            verify: ``"auto"`` checks the content against the official fingerprint when the
                file is named like an official file (``sign_mnist_train.csv[.gz]``,
                ``sign_mnist_test.csv[.gz]``); ``True`` checks against the official file of the
                same name or, failing that, the same row count; ``False`` skips the check.
            allow_modified: on a fingerprint mismatch, log a warning instead of raising.
            cache: reuse / write the binary ``.npy`` cache.
            cache_dir: the cache folder (default ``$ASL_CACHE_DIR``, else
                ``~/.cache/asl_recognition``).

        Raises:
            DatasetError: the file is missing or malformed (message names file, row, column).
            DatasetIntegrityError: the content differs from the official file's.
        """
        if verify not in (True, False, "auto"):
            raise InvalidParameterError(f"'verify' must be True, False or 'auto', got {verify!r}")
        csv_path = Path(path).expanduser()
        try:
            stat = csv_path.stat()
        except FileNotFoundError as exc:
            raise DatasetError(f"{csv_path}: no such file") from exc
        except OSError as exc:
            raise DatasetError(f"{csv_path}: cannot access file: {exc.strerror or exc}") from exc
        cached = None
        root = default_cache_dir(cache_dir) if cache else None
        if root is not None:
            cached = _cache.load_arrays(csv_path, stat, root)
        if cached is not None:
            images, labels, fingerprint = cached
        else:
            images, labels = parse_csv_bytes(read_csv_file(csv_path), name=str(csv_path))
            fingerprint = content_fingerprint(images, labels)
        official = official_split_of_name(csv_path)
        name = official or csv_path.name.removesuffix(".gz").removesuffix(".csv")
        if verify is True or (verify == "auto" and official is not None):
            _check_integrity(
                csv_path, official or official_split_of_rows(len(labels)), fingerprint,
                allow_modified=allow_modified,
            )
        if root is not None and cached is None:
            _cache.store_arrays(csv_path, stat, root, images, labels, fingerprint)
        return cls(images, labels, name=name, source=csv_path, _fingerprint=[fingerprint])

    # ------------------------------------------------------------------ derived datasets

    def subset(self, indices: Sequence[int] | npt.NDArray[np.integer[Any]] | slice) -> Dataset:
        """A new dataset of the rows ``indices`` (integer indexes, a boolean mask or a slice).

        Raises:
            InvalidParameterError: an index is out of range or not an integer.
        """
        if isinstance(indices, slice):
            idx: npt.NDArray[Any] = np.arange(len(self))[indices]
        else:
            idx = np.asarray(indices)
            if idx.dtype == np.bool_:
                if idx.shape != (len(self),):
                    raise InvalidParameterError(
                        f"a boolean mask must have shape ({len(self)},), got {idx.shape}"
                    )
                idx = np.flatnonzero(idx)
            elif idx.size == 0:
                idx = idx.astype(np.int64)
            elif idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
                raise InvalidParameterError(
                    f"indices must be a 1-D array of integers, got {idx.dtype} {idx.shape}"
                )
            elif idx.min() < -len(self) or idx.max() >= len(self):
                raise InvalidParameterError(
                    f"indices out of range for a dataset of {len(self)} rows"
                )
        return Dataset(
            self.images[idx], self.labels[idx], name=self.name, source=self.source
        )

    def groups(
        self,
        *,
        threshold: float = _split.DEFAULT_THRESHOLD,
        n_components: int = _split.DEFAULT_N_COMPONENTS,
        cache: bool | None = None,
        cache_dir: PathLike | None = None,
    ) -> npt.NDArray[np.int64]:
        """Near-duplicate group id of every row (ids 0.. by first appearance).

        Rows of the same label closer than ``threshold`` after per-image normalisation and PCA
        to ``n_components`` dims are linked; groups are the connected components. The result is
        cached in the cache dir by data fingerprint and parameters (``cache=None``: only for
        datasets of 2,000 rows or more).

        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> a, b = rng.integers(0, 256, (2, 28, 28))
        >>> ds = Dataset.from_arrays(np.stack([a, a, b]), [0, 0, 1])
        >>> ds.groups(cache=False).tolist()
        [0, 0, 1]
        """
        params = f"v2|by-label|threshold={float(threshold)!r}|n_components={n_components}"
        use_cache = len(self) >= _GROUP_CACHE_MIN_ROWS if cache is None else cache
        root = default_cache_dir(cache_dir) if use_cache else None
        if root is not None:
            hit = _cache.load_groups(root, self.fingerprint, params, len(self))
            if hit is not None:
                return _read_only(hit)
        groups = _split.near_duplicate_groups(
            self.images, self.labels, threshold=threshold, n_components=n_components
        )
        if root is not None:
            _cache.store_groups(root, self.fingerprint, params, groups)
        return _read_only(groups)

    def split_validation(
        self,
        fraction: float = 0.2,
        seed: int = 0,
        *,
        method: Literal["grouped", "random"] = "grouped",
        threshold: float = _split.DEFAULT_THRESHOLD,
        n_components: int = _split.DEFAULT_N_COMPONENTS,
        cache: bool | None = None,
        cache_dir: PathLike | None = None,
    ) -> tuple[Dataset, Dataset]:
        """Split into ``(train, validation)`` without near-duplicates across the two.

        With ``method="grouped"`` (default) whole near-duplicate groups (see :meth:`groups`)
        go to one side, letter by letter, so each letter's validation share is close to
        ``fraction`` of its rows; the same ``seed`` gives the same split. ``method="random"``
        is a letter-stratified random split, which leaks near-duplicates and over-reports
        accuracy on the training file; it exists for comparison.

        Raises:
            InvalidParameterError: ``fraction`` is not strictly between 0 and 1, ``seed``
                is not an integer >= 0, or ``method`` is unknown.
            DatasetError: the dataset is too small to split (fewer than 2 near-duplicate
                groups of one letter, or one side would be empty).

        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> ds = Dataset.from_arrays(rng.integers(0, 256, (10, 28, 28)), [0, 1] * 5)
        >>> train, val = ds.split_validation(0.2, seed=1, cache=False)
        >>> len(train), len(val), val.name
        (8, 2, 'arrays:validation')
        """
        _split.check_fraction(fraction)
        _split.check_seed(seed)
        if method == "grouped":
            groups = self.groups(
                threshold=threshold, n_components=n_components, cache=cache, cache_dir=cache_dir
            )
            train_idx, val_idx = _split.grouped_split(
                self.labels, groups, fraction=fraction, seed=seed
            )
        elif method == "random":
            train_idx, val_idx = _split.random_split(self.labels, fraction=fraction, seed=seed)
        else:
            raise InvalidParameterError(
                f"{method!r} is not a split method; available: grouped, random"
            )
        train = self.subset(train_idx)
        val = self.subset(val_idx)
        return (
            Dataset(train.images, train.labels, name=f"{self.name}:train", source=self.source),
            Dataset(val.images, val.labels, name=f"{self.name}:validation", source=self.source),
        )


def _check_integrity(
    path: Path, split: OfficialSplit | None, fingerprint: str, *, allow_modified: bool
) -> None:
    if split is None:
        raise DatasetIntegrityError(
            f"{path}: cannot verify: neither its name nor its row count matches an official "
            "Sign MNIST file (sign_mnist_train.csv: 27,455 rows, sign_mnist_test.csv: 7,172)"
        )
    expected = OFFICIAL_FINGERPRINTS[split]
    if fingerprint == expected:
        return
    message = (
        f"{path}: content differs from the official sign_mnist_{split}.csv "
        f"(fingerprint {fingerprint}, expected {expected}); the file was modified or is "
        "another dataset"
    )
    if not allow_modified:
        raise DatasetIntegrityError(message + "; pass allow_modified=True to use it anyway")
    _log.warning("%s; using it because allow_modified=True", message)


def load_dataset(
    split: Literal["train", "test"],
    data_dir: PathLike | None = None,
    *,
    download: bool | None = None,
    urls: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
    cache: bool = True,
    cache_dir: PathLike | None = None,
    allow_modified: bool = False,
    timeout: float = 60.0,
) -> Dataset:
    """Load the official ``train`` or ``test`` file, always checking its fingerprint.

    Looks in ``data_dir``, then ``$ASL_DATA_DIR``, then ``<cache_dir>/data``, then downloads
    into ``<cache_dir>/data`` from ``urls`` (a list, or a mapping ``{"train": [...], "test":
    [...]}`` as in ``conf/data/default.yaml``; default: the seed project's GitHub copies),
    unless ``download`` is False (``None``: allowed unless ``$ASL_DOWNLOAD=0``).

    Raises:
        InvalidParameterError: ``split`` is not "train" or "test".
        DatasetError: not found anywhere (the message lists every place searched) or malformed.
        DatasetIntegrityError: the content differs from the official file's.
    """
    if split not in OFFICIAL_FINGERPRINTS:
        raise InvalidParameterError(f"{split!r} is not a split; available: test, train")
    root = default_cache_dir(cache_dir)
    searched: list[str] = []
    for origin, folder in search_dirs(data_dir, root):
        for candidate in candidate_paths(folder, split):
            if candidate.is_file():
                _log.info("loading %s data from %s (%s)", split, candidate, origin)
                return _load_official(candidate, split, cache, cache_dir, allow_modified)
        searched.append(f"{folder} ({origin})")
    file_name = f"sign_mnist_{split}.csv"
    if not download_enabled(download):
        raise DatasetError(
            f"{file_name} not found and download is disabled; searched (with sub-folders "
            f"sign_mnist_{split}/ and sign-language-mnist/, .csv and .csv.gz):\n  "
            + "\n  ".join(searched)
        )
    if isinstance(urls, Mapping):
        urls = urls.get(split, DEFAULT_URLS[split])
    if isinstance(urls, str):
        urls = [urls]
    dest = download_csv(
        list(urls) if urls is not None else list(DEFAULT_URLS[split]),
        root / "data" / file_name,
        expected_fingerprint=OFFICIAL_FINGERPRINTS[split],
        timeout=timeout,
    )
    return _load_official(dest, split, cache, cache_dir, allow_modified)


def _load_official(
    path: Path, split: OfficialSplit, cache: bool, cache_dir: PathLike | None, allow_modified: bool
) -> Dataset:
    ds = Dataset.from_csv(path, verify=False, cache=cache, cache_dir=cache_dir)
    _check_integrity(path, split, ds.fingerprint, allow_modified=allow_modified)
    return Dataset(ds.images, ds.labels, name=split, source=path, _fingerprint=[ds.fingerprint])
