"""Where the official CSVs are looked for, and where they are downloaded from.

Search order for ``sign_mnist_<split>``: the explicit ``data_dir``, ``$ASL_DATA_DIR``, the cache
dir's ``data/`` folder, then (if allowed) a download into that folder. Inside each folder the
common layouts are accepted: flat files, Kaggle's ``sign_mnist_<split>/`` sub-folders and a
``sign-language-mnist/`` folder, each as ``.csv`` or ``.csv.gz``.

>>> [str(p) for p in candidate_paths("/d", "test")][:3]
['/d/sign_mnist_test.csv', '/d/sign_mnist_test.csv.gz', '/d/sign_mnist_test/sign_mnist_test.csv']
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from asl_recognition.data._fingerprint import OfficialSplit

__all__ = [
    "DATA_DIR_ENV",
    "DEFAULT_URLS",
    "DOWNLOAD_ENV",
    "candidate_paths",
    "download_enabled",
    "search_dirs",
]

DATA_DIR_ENV = "ASL_DATA_DIR"
DOWNLOAD_ENV = "ASL_DOWNLOAD"

_SEED = "https://github.com/emanbuc/ASL-Recognition-Deep-Learning/raw/main/datasets/sign-language-mnist"
#: The seed project's public copies of the Kaggle files (see docs/seed-project.md).
DEFAULT_URLS: Mapping[OfficialSplit, Sequence[str]] = {
    "train": (f"{_SEED}/sign_mnist_train/sign_mnist_train.csv",),
    "test": (f"{_SEED}/sign_mnist_test.csv",),
}


def candidate_paths(folder: str | os.PathLike[str], split: OfficialSplit) -> list[Path]:
    """Every path under ``folder`` where the official ``split`` file may lie, in order."""
    root = Path(folder).expanduser()
    stem = f"sign_mnist_{split}"
    subdirs = [root, root / stem, root / "sign-language-mnist", root / "sign-language-mnist" / stem]
    return [d / f"{stem}{ext}" for d in subdirs for ext in (".csv", ".csv.gz")]


def search_dirs(
    data_dir: str | os.PathLike[str] | None, cache_dir: Path
) -> list[tuple[str, Path]]:
    """The folders to search, in order, each with where it came from (for error messages)."""
    dirs: list[tuple[str, Path]] = []
    if data_dir is not None:
        dirs.append(("data_dir argument", Path(data_dir).expanduser()))
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        dirs.append((f"${DATA_DIR_ENV}", Path(env).expanduser()))
    dirs.append(("cache", cache_dir / "data"))
    return dirs


def download_enabled(download: bool | None) -> bool:
    """``download`` if given, else ``$ASL_DOWNLOAD`` (``0``/``false``/``no`` disable), else True.

    >>> download_enabled(False)
    False
    """
    if download is not None:
        return download
    return os.environ.get(DOWNLOAD_ENV, "1").strip().lower() not in {"0", "false", "no", "off"}
