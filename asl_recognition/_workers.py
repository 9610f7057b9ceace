"""Worker processes for the main job's parallel steps (training, per-model evaluation), in one place.

:func:`process_pool` is a :class:`concurrent.futures.ProcessPoolExecutor` of *spawned* workers
(never forked: the parent may hold TensorFlow, BLAS or progress threads, which a fork copies in
an undefined state) whose log records reach the parent's logging handlers, each message
prefixed with what the worker is doing (:func:`set_log_prefix`); workers report progress as
plain log lines (with their ETA). When the ``with`` body fails (or is interrupted), queued tasks
are cancelled and busy workers are ended instead of being waited for.

Each worker limits the BLAS and OpenMP thread pools of its libraries (and of the processes it
starts) to its share of the cores (:func:`worker_threads`), unless the environment already sets
them: two workers on two cores, each with a pool of two spinning BLAS threads, slow each other
down instead of sharing the cores.

Spawned workers import the caller's ``__main__`` module again: a script that starts a pool
needs an ``if __name__ == "__main__":`` guard, as for any use of :mod:`multiprocessing`.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import logging.handlers
import multiprocessing
import os
from collections.abc import Callable, Iterator
from typing import Any

from asl_recognition import progress

__all__ = [
    "MAX_AUTO_WORKERS", "THREAD_VARIABLES", "available_cores", "process_pool", "resolve_workers", "set_log_prefix",
    "worker_threads",
]  # fmt: skip

#: Workers when the count is "auto" (-1): one per core, at most this many (each worker holds its
#: own copy of its inputs and of its framework, e.g. TensorFlow).
MAX_AUTO_WORKERS = 4
#: Seconds between two progress lines of one task in a worker.
WORKER_PROGRESS_INTERVAL = 30.0

#: The environment variables that size the BLAS / OpenMP thread pools of NumPy, SciPy,
#: scikit-learn and onnxruntime's dependencies.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

_prefix = ""
_limits: Any = None


def available_cores() -> int:
    """CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def resolve_workers(workers: int | None, tasks: int) -> int:
    """Worker processes for ``tasks`` tasks: ``workers`` (None or 1: one, i.e. work in this
    process; -1: one per core, at most :data:`MAX_AUTO_WORKERS`), never more than ``tasks``.

    >>> resolve_workers(None, 5), resolve_workers(3, 2), resolve_workers(-1, 1)
    (1, 2, 1)
    """
    n = min(available_cores(), MAX_AUTO_WORKERS) if workers == -1 else (workers or 1)
    return max(1, min(n, tasks))


def worker_threads(workers: int) -> int:
    """Threads of each of ``workers`` workers: its share of the cores, at least one.

    >>> worker_threads(10 ** 6)
    1
    """
    return max(1, available_cores() // max(1, workers))


def _limit_threads(threads: int) -> None:
    """Cap this process's BLAS / OpenMP pools (and its children's) at ``threads``, unless the
    environment sets them already."""
    global _limits
    if any(os.environ.get(v) for v in THREAD_VARIABLES):
        return
    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(threads)
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
    except ImportError:  # the core install: no BLAS-heavy library to cap
        return
    _limits = threadpool_limits(limits=threads)  # pools already loaded; kept for the process's life


def set_log_prefix(prefix: str) -> None:
    """In a worker: prefix every following log message with ``[prefix]``."""
    global _prefix
    _prefix = prefix


@contextlib.contextmanager
def process_pool(
    workers: int, *, initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = ()
) -> Iterator[cf.ProcessPoolExecutor]:
    """A pool of ``workers`` spawned processes; each caps its thread pools at
    :func:`worker_threads` and runs ``initializer(*initargs)`` once (both must be picklable: a
    module-level function and plain data)."""
    ctx = multiprocessing.get_context("spawn")
    records: Any = ctx.Queue()
    listener = logging.handlers.QueueListener(records, _Relay())
    level = logging.getLogger("asl_recognition").getEffectiveLevel()
    listener.start()
    setup = (records, level, worker_threads(workers), initializer, initargs)
    pool = cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=setup)
    try:
        yield pool
    except BaseException:
        _terminate(pool)
        raise
    finally:
        pool.shutdown(wait=True)
        listener.stop()


def _terminate(pool: cf.ProcessPoolExecutor) -> None:
    """Cancel what has not started and end the workers that are still busy."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()


class _Relay(logging.Handler):
    """Hands a worker's log record to the parent's logger of the same name."""

    def emit(self, record: logging.LogRecord) -> None:
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)


class _PrefixedQueueHandler(logging.handlers.QueueHandler):
    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record = super().prepare(record)
        if _prefix:
            record.msg = f"[{_prefix}] {record.msg}"
        return record


def _init_worker(records: Any, level: int, threads: int, initializer: Callable[..., None] | None,
                 initargs: tuple[Any, ...]) -> None:  # fmt: skip
    _limit_threads(threads)
    root = logging.getLogger()
    root.handlers[:] = [_PrefixedQueueHandler(records)]
    root.setLevel(level)
    progress.configure("plain", plain_interval=WORKER_PROGRESS_INTERVAL)
    if initializer is not None:
        initializer(*initargs)
