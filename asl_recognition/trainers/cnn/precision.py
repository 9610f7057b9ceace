"""Training precision: float32, or bfloat16 mixed precision where the CPU computes it natively.

``mixed_bfloat16`` keeps every weight in float32 and computes the layers in bfloat16 (Keras'
mixed-precision policy); only the last layer (class probabilities) computes in float32. On CPUs
with Intel AMX tiles (``amx_bf16``: Xeon Sapphire Rapids and later) oneDNN runs those layers on
the matrix units, faster than float32 (measured in ``docs/cnn.md``). Elsewhere
bfloat16 is emulated and slower than float32, so ``"auto"`` picks it only on such CPUs and on
the TensorFlow backend.

Whatever the training precision, the saved network is float32: :func:`float32_copy` rebuilds
the architecture under the float32 policy and copies the (float32) weights into it.

>>> resolve_precision("float32", "tensorflow")
'float32'
>>> resolve_precision("mixed_bfloat16", "torch")
'mixed_bfloat16'
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["PRECISIONS", "cpu_has_amx_bf16", "dtype_policy", "float32_copy", "resolve_precision"]

#: accepted values of the ``precision`` hyperparameter
PRECISIONS = ("auto", "float32", "mixed_bfloat16")


@functools.cache
def cpu_has_amx_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether the CPU reports Intel AMX bfloat16 tiles (Linux ``/proc/cpuinfo`` flags)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            return "amx_bf16" in line.split()
    return False


def _has_gpu(backend: str) -> bool:
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    import torch

    return bool(torch.cuda.is_available())


def resolve_precision(precision: str, backend: str) -> str:
    """The policy ``precision`` means here: ``"auto"`` is ``mixed_bfloat16`` on TensorFlow on a
    CPU-only machine with AMX bfloat16, ``float32`` otherwise."""
    if precision != "auto":
        return precision
    if backend == "tensorflow" and cpu_has_amx_bf16() and not _has_gpu(backend):
        return "mixed_bfloat16"
    return "float32"


@contextlib.contextmanager
def dtype_policy(keras: Any, policy: str) -> Iterator[None]:
    """Build layers under Keras' global dtype ``policy``; restore the previous one afterwards."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def float32_copy(keras: Any, network: Any, build: Callable[[], Any]) -> Any:
    """``network``'s weights in a float32 network made by ``build`` (same architecture)."""
    with dtype_policy(keras, "float32"):
        fresh = build()
    fresh.set_weights(network.get_weights())
    # one call traces the network, as training did for the original (exporters need it)
    shape = tuple(int(d) for d in fresh.inputs[0].shape[1:])
    fresh(keras.ops.zeros((1, *shape), dtype="float32"), training=False)
    return fresh
