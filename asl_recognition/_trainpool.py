"""Train the trainers of a main job, in worker processes when there are cores to spare.

:func:`train_entries` trains every :class:`TrainEntry` and saves its model under
``models_dir/<key>/``. With ``workers > 1`` the entries run in that many *spawned* worker
processes at once (a process each, so a Keras fit, an AutoML search and a scikit-learn fit use
different cores instead of waiting for each other), in dependency order: an entry that builds on
other entries' models (a :class:`~asl_recognition.trainers.base.JobModelsUser`: ``product``,
``photo`` with ``pixel: cnn_fast``) starts when they are saved, and gets them loaded from their
saved directories. Entries that others wait for start first; meanwhile a waiting entry whose
trainer is a :class:`~asl_recognition.trainers.base.Preparer` does the part of its work that
needs no model (``prepare``: the ``photo`` trainer observes its hands) in a free worker.

The parent loads each finished model from the directory the worker saved, so what the job
compares and deploys is exactly what was written to disk. Worker log records (progress lines
with their ETA included) reach the parent's logging handlers, prefixed with the entry's key.

It falls back to training one entry after the other in this process (what ``workers=1`` does)
when a trainer cannot be sent to a worker process (e.g. a class defined inside a function);
the log says so.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import logging
import pickle
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asl_recognition import progress
from asl_recognition._workers import process_pool, resolve_workers, set_log_prefix
from asl_recognition.errors import TrainingError
from asl_recognition.models import TrainedModel, load_model
from asl_recognition.trainers.base import JobModelsUser, Preparer, Trainer, TrainResult, TrialRecord

if TYPE_CHECKING:
    from asl_recognition.data.dataset import Dataset

__all__ = ["TrainEntry", "train_entries"]

log = logging.getLogger(__name__)

@dataclasses.dataclass(frozen=True)
class TrainEntry:
    """One trainer of a job.

    Attributes:
        key: the job's name for it (``models/<key>/``).
        name: the registered trainer name (for messages).
        trainer: the built trainer.
        refit: after validation, train again on the whole training file and keep that model.
        uses: keys of the entries whose models it builds on (they must train first).
    """

    key: str
    name: str
    trainer: Trainer
    refit: bool = False
    uses: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class _Data:
    fit: Dataset
    validation: Dataset
    train: Dataset


def train_entries(
    entries: Sequence[TrainEntry],
    *,
    fit: Dataset,
    validation: Dataset,
    train: Dataset,
    seed: int,
    models_dir: Path,
    workers: int | None = None,
) -> dict[str, tuple[TrainResult, Path]]:
    """Train and save every entry; ``{key: (result, saved model directory)}`` in entry order.

    Args:
        entries: the trainers, in the job's order (an entry's ``uses`` come before it).
        fit, validation: the leak-free split of the training file (``fit`` trains,
            ``validation`` measures).
        train: the whole training file (for entries with ``refit``).
        seed: the job's seed, passed to every ``fit``.
        models_dir: each model is saved to ``models_dir/<key>/``.
        workers: worker processes (:func:`~asl_recognition._workers.resolve_workers`: -1 one
            per core; None or 1: one after the other in this process).
    """
    data = _Data(fit, validation, train)
    n = resolve_workers(workers, len(entries))
    if n > 1:
        unsendable = [e.key for e in entries if not _picklable(e)]
        if not unsendable:
            return _train_in_workers(entries, data, seed=seed, models_dir=models_dir, workers=n)
        log.info("training in this process, one trainer after the other: trainer(s) %s cannot be sent "
                 "to a worker process (not picklable)", ", ".join(unsendable))  # fmt: skip
    done: dict[str, tuple[TrainResult, Path]] = {}
    for entry in entries:
        models = {k: done[k][0].model for k in entry.uses}
        done[entry.key] = train_one(entry, data, seed=seed, models_dir=models_dir, job_models=models)
    return done


def train_one(
    entry: TrainEntry,
    data: _Data,
    *,
    seed: int,
    models_dir: Path,
    job_models: Mapping[str, TrainedModel],
) -> tuple[TrainResult, Path]:
    """Fit one entry (and refit it when asked), save its model; ``(result, directory)``."""
    trainer = entry.trainer
    if isinstance(trainer, JobModelsUser) and entry.uses:
        trainer.use_job_models(job_models)
    with progress.task(f"training {entry.key} ({entry.name})", total=None):
        start = time.perf_counter()
        result = trainer.fit(data.fit, validation=data.validation, seed=seed)
        result.timings.setdefault("fit_s", time.perf_counter() - start)
    if entry.refit:
        result = _refit(trainer, result, data.train, seed=seed, key=entry.key)
    model_dir = result.model.save(models_dir / entry.key)
    log.info("%s: validation accuracy %s", entry.key, result.metrics.get("validation_accuracy"))
    return result, model_dir


def _refit(trainer: Trainer, first: TrainResult, train: Dataset, *, seed: int, key: str) -> TrainResult:
    """Train again on the whole training file; keep the first fit's validation metrics."""
    with progress.task(f"refitting {key} on the whole training file", total=None):
        start = time.perf_counter()
        refit = trainer.fit(train, validation=None, seed=seed)
        refit_s = time.perf_counter() - start
    model = refit.model
    model.metadata.metrics.update(first.metrics)
    model.metadata.extra["refit"] = {"on": train.name, "rows": len(train),
                                     "validation_metrics_from": "fit on the leak-free training part"}  # fmt: skip
    return TrainResult(
        model=model,
        metrics=dict(first.metrics),
        hyperparameters=refit.hyperparameters or first.hyperparameters,
        timings={"fit_s": first.timings.get("fit_s", 0.0) + refit_s, "refit_s": refit_s},
        trials=first.trials,
        backend=first.backend,
    )


def _picklable(entry: TrainEntry) -> bool:
    try:
        pickle.dumps(entry)
    except Exception:  # any reason a trainer cannot travel: a local class, a lambda, a lock, ...
        return False
    return True


# -- worker processes -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Outcome:
    """What a worker sends back: the TrainResult without its model (the parent loads it)."""

    model_dir: str
    metrics: dict[str, float]
    hyperparameters: dict[str, Any]
    timings: dict[str, float]
    trials: list[TrialRecord]
    backend: str


def _train_in_workers(
    entries: Sequence[TrainEntry], data: _Data, *, seed: int, models_dir: Path, workers: int
) -> dict[str, tuple[TrainResult, Path]]:
    waited_for = {e.key: sum(e.key in other.uses for other in entries) for e in entries}
    pending = list(entries)
    # entries that wait for others' models and can do part of their work before (Preparer):
    # that part runs in a free worker meanwhile, and their fit starts once it is over
    to_prepare = [e for e in entries if e.uses and isinstance(e.trainer, Preparer)]
    preparing = {e.key for e in to_prepare}
    done: dict[str, tuple[TrainResult, Path]] = {}
    running: dict[cf.Future[Any], tuple[str, TrainEntry]] = {}
    shown: dict[tuple[str, str], contextlib.ExitStack] = {}
    log.info("training %d trainers in %d worker processes", len(entries), workers)
    with contextlib.ExitStack() as cleanup, process_pool(workers, initializer=_init_worker, initargs=(data,)) as pool:
        cleanup.callback(_close_all, shown)
        while pending or running:
            ready = [e for e in pending if all(u in done for u in e.uses) and e.key not in preparing]
            ready.sort(key=lambda e: -waited_for[e.key])  # stable: the job's order among equals
            # first what others wait for, then the preparations, then the rest
            queue = ([("fit", e) for e in ready if waited_for[e.key]] + [("prepare", e) for e in to_prepare]
                     + [("fit", e) for e in ready if not waited_for[e.key]])  # fmt: skip
            for kind, entry in queue[: workers - len(running)]:
                if kind == "prepare":
                    to_prepare.remove(entry)
                    future: cf.Future[Any] = pool.submit(_worker_prepare, entry)
                    what = f"preparing {entry.key} ({entry.name}) in a worker"
                else:
                    pending.remove(entry)
                    dirs = {u: str(done[u][1]) for u in entry.uses}
                    future = pool.submit(_worker_train, entry, dirs, seed, str(models_dir))
                    what = f"training {entry.key} ({entry.name}) in a worker"
                running[future] = (kind, entry)
                shown[kind, entry.key] = contextlib.ExitStack()
                shown[kind, entry.key].enter_context(progress.task(what))
            finished, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for future in finished:
                kind, entry = running.pop(future)
                shown.pop((kind, entry.key)).close()
                if kind == "prepare":
                    preparing.discard(entry.key)
                    _prepared(future, entry)
                    continue
                outcome = _outcome(future, entry)
                result = TrainResult(load_model(outcome.model_dir), outcome.metrics, outcome.hyperparameters,
                                     outcome.timings, outcome.trials, outcome.backend)  # fmt: skip
                done[entry.key] = (result, Path(outcome.model_dir))
    return {e.key: done[e.key] for e in entries}


def _close_all(stacks: Mapping[tuple[str, str], contextlib.ExitStack]) -> None:
    for stack in stacks.values():
        stack.close()


def _dead_worker(entry: TrainEntry) -> TrainingError:
    return TrainingError(
        f"trainer {entry.key!r} ({entry.name}): its worker process died (out of memory, or killed); "
        "run the job with workers=1 to train in the main process"
    )


def _outcome(future: cf.Future[_Outcome], entry: TrainEntry) -> _Outcome:
    try:
        return future.result()
    except cf.process.BrokenProcessPool as exc:
        raise _dead_worker(entry) from exc


def _prepared(future: cf.Future[None], entry: TrainEntry) -> None:
    """A preparation's end: a failure is logged, not raised (``fit`` does that work again and
    raises what is wrong), except a dead worker (the pool is then unusable)."""
    try:
        future.result()
    except cf.process.BrokenProcessPool as exc:
        raise _dead_worker(entry) from exc
    except Exception as exc:  # any failure of the trainer's own code: fit will meet it again
        log.warning("preparing %s (%s) failed, its fit will do that work: %s", entry.key, entry.name, exc)


_worker_data: _Data | None = None


def _init_worker(data: _Data) -> None:
    global _worker_data
    for ds in (data.fit, data.validation, data.train):
        ds.images.setflags(write=False)
        ds.labels.setflags(write=False)
    _worker_data = data


def _worker_prepare(entry: TrainEntry) -> None:
    assert _worker_data is not None, "worker not initialised"
    set_log_prefix(entry.key)
    assert isinstance(entry.trainer, Preparer)
    entry.trainer.prepare(_worker_data.fit)


def _worker_train(entry: TrainEntry, dep_dirs: Mapping[str, str], seed: int, models_dir: str) -> _Outcome:
    assert _worker_data is not None, "worker not initialised"
    set_log_prefix(entry.key)
    models = {k: load_model(d) for k, d in dep_dirs.items()}
    result, model_dir = train_one(entry, _worker_data, seed=seed, models_dir=Path(models_dir), job_models=models)
    return _Outcome(str(model_dir), dict(result.metrics), dict(result.hyperparameters), dict(result.timings),
                    list(result.trials), result.backend)  # fmt: skip
