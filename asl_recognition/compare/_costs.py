"""What a model costs to run: size on disk, prediction latency and prediction memory.

Latency: one warm-up call, then the median wall time (``time.perf_counter``) of ``repeats``
calls of ``predict_proba`` on one image and on a batch of ``batch_size`` test images.

Memory, two numbers, both for one ``predict_proba`` call on a batch:

- ``peak_python_bytes``: peak of allocations traced by :mod:`tracemalloc` (Python objects and
  NumPy arrays). Native allocations of onnxruntime/TensorFlow/torch are *not* seen.
- ``rss_delta_bytes``: growth of the process's maximum resident set size
  (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) during the call. It sees native memory but
  only grows when the process reaches a new high-water mark, so it is often 0 once a larger
  allocation happened earlier (``None`` where :mod:`resource` is unavailable).
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from asl_recognition._io import directory_size
from asl_recognition.models import TrainedModel

__all__ = ["Costs", "measure_costs", "model_size_bytes"]


@dataclasses.dataclass
class Costs:
    """Measured costs of one model (see the module docstring for what each number means)."""

    size_bytes: int
    latency_single_ms: float
    latency_batch_ms: float
    batch_size: int
    throughput_ips: float
    peak_python_bytes: int
    rss_delta_bytes: int | None


def model_size_bytes(model: TrainedModel) -> int:
    """Size of the model's saved directory; models never saved are saved to a temporary one."""
    size = model.size_bytes()
    if size is not None:
        return size
    with tempfile.TemporaryDirectory(prefix="asl-size-") as tmp:
        previous = model.source_dir
        try:
            # save() updates metadata/source_dir; restore source_dir so the model stays "unsaved"
            return directory_size(model.save(Path(tmp) / "model"))
        finally:
            model.source_dir = previous


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: lazy initialisation, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return float(statistics.median(times))


def _max_rss_bytes() -> int | None:
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    rss = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return rss if sys.platform == "darwin" else rss * 1024  # Linux reports KiB


def measure_costs(
    model: TrainedModel,
    images: npt.NDArray[np.uint8],
    *,
    repeats: int = 5,
    batch_size: int = 256,
) -> Costs:
    """Measure size, single-image and batch latency and prediction memory of ``model``."""
    batch = images[:batch_size]
    single = images[:1]
    latency_single = _median_ms(lambda: model.predict_proba(single), repeats)
    latency_batch = _median_ms(lambda: model.predict_proba(batch), repeats)
    rss_before = _max_rss_bytes()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    model.predict_proba(batch)
    _, peak = tracemalloc.get_traced_memory()
    if not was_tracing:
        tracemalloc.stop()
    rss_after = _max_rss_bytes()
    rss_delta = None if rss_before is None or rss_after is None else max(0, rss_after - rss_before)
    return Costs(
        size_bytes=model_size_bytes(model),
        latency_single_ms=latency_single,
        latency_batch_ms=latency_batch,
        batch_size=len(batch),
        throughput_ips=len(batch) / (latency_batch / 1000.0) if latency_batch > 0 else float("inf"),
        peak_python_bytes=max(0, peak - base),
        rss_delta_bytes=rss_delta,
    )
