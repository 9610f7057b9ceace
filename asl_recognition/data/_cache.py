"""The binary cache: parsed CSVs as plain ``.npy`` files, and cached near-duplicate groups.

Layout under the cache dir (:func:`asl_recognition._paths.default_cache_dir`)::

    arrays/<key of the CSV path>/images.npy, labels.npy, meta.json
    groups/<fingerprint>-<parameters>.npy
    data/                      downloaded CSVs

A cache entry is used only when the CSV's size, ``mtime_ns`` and inode still match the ones
recorded, and the reloaded arrays hash to the recorded content fingerprint; anything else
(a changed CSV, a truncated or garbled ``.npy``, bad JSON) is ignored and rebuilt, never trusted.
Writes are atomic (:mod:`asl_recognition._io`); a cache that cannot be written (read-only
directory) only costs a logged warning.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from asl_recognition._io import atomic_directory, atomic_write_bytes
from asl_recognition.data._fingerprint import content_fingerprint

__all__ = [
    "load_arrays",
    "load_groups",
    "store_arrays",
    "store_groups",
]

_log = logging.getLogger(__name__)

_FORMAT = 1


def _file_key(stat: os.stat_result) -> dict[str, int]:
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "inode": stat.st_ino}


def _entry_dir(csv_path: Path, cache_dir: Path) -> Path:
    digest = hashlib.sha256(str(csv_path.resolve()).encode()).hexdigest()[:24]
    return cache_dir / "arrays" / digest


def load_arrays(
    csv_path: Path, stat: os.stat_result, cache_dir: Path
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64], str] | None:
    """Return ``(images, labels, fingerprint)`` cached for ``csv_path``, or ``None`` on a miss."""
    entry = _entry_dir(csv_path, cache_dir)
    meta_file = entry / "meta.json"
    if not meta_file.is_file():
        return None
    try:
        meta: dict[str, Any] = json.loads(meta_file.read_text("utf-8"))
        if meta.get("format") != _FORMAT or meta.get("file") != _file_key(stat):
            _log.debug("cache entry %s is stale for %s", entry, csv_path)
            return None
        images = np.load(entry / "images.npy", allow_pickle=False)
        labels = np.load(entry / "labels.npy", allow_pickle=False)
        ok = (
            images.dtype == np.uint8
            and labels.dtype == np.int64
            and images.ndim == 3
            and images.shape[1:] == (28, 28)
            and labels.shape == (images.shape[0],)
        )
        fingerprint = str(meta.get("fingerprint"))
        if not ok or content_fingerprint(images, labels) != fingerprint:
            _log.warning("ignoring corrupt cache entry %s for %s; rebuilding", entry, csv_path)
            return None
    except (OSError, ValueError, TypeError, EOFError) as exc:
        _log.warning(
            "ignoring unreadable cache entry %s for %s (%s); rebuilding", entry, csv_path, exc
        )
        return None
    _log.debug("loaded %s from cache %s", csv_path, entry)
    return images, labels, fingerprint


def store_arrays(
    csv_path: Path,
    stat: os.stat_result,
    cache_dir: Path,
    images: npt.NDArray[np.uint8],
    labels: npt.NDArray[np.int64],
    fingerprint: str,
) -> None:
    """Cache the parsed arrays of ``csv_path`` (atomically; failures are only logged)."""
    entry = _entry_dir(csv_path, cache_dir)
    meta = {
        "format": _FORMAT,
        "source": str(csv_path.resolve()),
        "file": _file_key(stat),
        "rows": len(labels),
        "fingerprint": fingerprint,
    }
    try:
        with atomic_directory(entry) as tmp:
            np.save(tmp / "images.npy", images, allow_pickle=False)
            np.save(tmp / "labels.npy", labels, allow_pickle=False)
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2), "utf-8")
    except OSError as exc:
        _log.warning("could not write the data cache in %s: %s", entry, exc)


def _groups_file(cache_dir: Path, fingerprint: str, params: str) -> Path:
    fp = fingerprint.split(":")[-1][:32]
    key = hashlib.sha256(params.encode()).hexdigest()[:16]
    return cache_dir / "groups" / f"{fp}-{key}.npy"


def load_groups(
    cache_dir: Path, fingerprint: str, params: str, n: int
) -> npt.NDArray[np.int64] | None:
    """Return cached group ids for the data ``fingerprint`` and ``params``, or ``None``."""
    path = _groups_file(cache_dir, fingerprint, params)
    if not path.is_file():
        return None
    try:
        groups = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        _log.warning("ignoring unreadable group cache %s (%s)", path, exc)
        return None
    if groups.dtype != np.int64 or groups.shape != (n,) or (n and groups.min() < 0):
        _log.warning("ignoring corrupt group cache %s", path)
        return None
    return np.asarray(groups, dtype=np.int64)


def store_groups(
    cache_dir: Path, fingerprint: str, params: str, groups: npt.NDArray[np.int64]
) -> None:
    """Cache group ids (atomically; failures are only logged)."""
    path = _groups_file(cache_dir, fingerprint, params)
    buf = io.BytesIO()
    np.save(buf, groups, allow_pickle=False)
    try:
        atomic_write_bytes(path, buf.getvalue())
    except OSError as exc:
        _log.warning("could not write the group cache %s: %s", path, exc)
