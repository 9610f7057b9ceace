"""Where the library keeps what it caches: one function for datasets and hand models alike.

The cache directory is, first match wins:

1. the folder passed explicitly (a ``cache_dir=`` argument);
2. ``$ASL_CACHE_DIR``;
3. ``$XDG_CACHE_HOME/asl_recognition``;
4. ``~/.cache/asl_recognition``.

Each user of the cache keeps its own subfolder (``arrays/``, ``groups/`` and ``data/`` for
datasets, ``hand_models/`` for the learned hand detector).

>>> default_cache_dir("/tmp/x")
PosixPath('/tmp/x')
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_ENV", "default_cache_dir", "user_cache_dir"]

#: Environment variable naming the cache directory (overrides the user cache).
CACHE_ENV = "ASL_CACHE_DIR"


def user_cache_dir() -> Path:
    """The per-user cache: ``$XDG_CACHE_HOME/asl_recognition``, else ``~/.cache/asl_recognition``.

    This ignores ``$ASL_CACHE_DIR``; use :func:`default_cache_dir` to find the cache in use.
    """
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "asl_recognition"


def default_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the cache directory: ``cache_dir``, else ``$ASL_CACHE_DIR``, else :func:`user_cache_dir`."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return user_cache_dir()
