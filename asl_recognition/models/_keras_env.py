"""Select the Keras backend and thread counts before Keras is first imported.

Keras 3 reads ``KERAS_BACKEND`` once, when ``keras`` is first imported, and cannot switch
afterwards in the same process. :func:`import_keras` therefore sets the variable (and quiets
TensorFlow's C++ logging) before the first import and refuses, with a clear error, a backend
that differs from the one already loaded. Code that must use another backend than the current
process has runs the training script in a subprocess (``KerasCnnTrainer(in_process=False)``,
the default), whose environment carries ``KERAS_BACKEND``.

>>> "tensorflow" in BACKENDS
True
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from asl_recognition.errors import ConfigurationError, InvalidParameterError, MissingDependencyError

__all__ = ["BACKENDS", "backend_env", "configure_threads", "import_keras", "loaded_backend"]

logger = logging.getLogger(__name__)

#: Keras backends this package supports, and the module each needs.
BACKENDS: dict[str, str] = {"tensorflow": "tensorflow", "torch": "torch"}


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise InvalidParameterError(
            f"'backend' must be one of {', '.join(BACKENDS)}, got {backend!r}"
        )


def backend_env(backend: str, *, threads: int | None = None) -> dict[str, str]:
    """Environment variables that select ``backend`` for a fresh (sub)process.

    >>> backend_env("torch", threads=2)["KERAS_BACKEND"]
    'torch'
    """
    _check_backend(backend)
    env = {"KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def loaded_backend() -> str | None:
    """The backend of the already imported ``keras``, or None if Keras is not imported yet."""
    keras = sys.modules.get("keras")
    if keras is None:
        return None
    return str(keras.backend.backend())


def import_keras(backend: str = "tensorflow") -> Any:
    """Import and return ``keras`` running on ``backend``.

    Raises:
        ConfigurationError: Keras is already imported in this process with another backend.
        MissingDependencyError: Keras or the backend's framework is not installed.
    """
    _check_backend(backend)
    current = loaded_backend()
    if current is not None and current != backend:
        raise ConfigurationError(
            f"Keras is already loaded with the {current!r} backend in this process and cannot "
            f"switch to {backend!r}; train in a subprocess (in_process=False) instead"
        )
    if current is None:
        os.environ["KERAS_BACKEND"] = backend
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        __import__(BACKENDS[backend])
        import keras
    except ImportError as exc:
        raise MissingDependencyError(
            f"the Keras CNN backend {backend!r} needs {exc.name or BACKENDS[backend]!r}; install it "
            f'with: pip install "asl-recognition[keras]"'
            + (' "asl-recognition[torch]"' if backend == "torch" else "")
        ) from exc
    return keras


def configure_threads(backend: str, threads: int | None) -> None:
    """Limit the framework's CPU threads (call before the first operation runs)."""
    if threads is None:
        return
    if threads < 1:
        raise InvalidParameterError(f"'threads' must be >= 1, got {threads}")
    if backend == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
        except RuntimeError:  # already initialised in this process: keep its settings
            logger.debug("TensorFlow threads already configured; keeping them")
    else:
        import torch

        torch.set_num_threads(threads)
