"""What each compared model predicts: the test file, the corrupted test images, the photos.

These predictions are the Comparator's heavy part and are independent between models, so with
``workers > 1`` they run in spawned worker processes, one model at a time per worker, each
loading the model from its saved directory (:mod:`asl_recognition._workers`). Everything
computed from them (intervals, bootstrap, McNemar tests, the ranking) and the cost
measurements (latency, size, memory: timed in the main process, one model at a time, so that
no other model's work competes with them) stay with the Comparator.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from asl_recognition import progress
from asl_recognition._workers import process_pool, set_log_prefix
from asl_recognition.compare._result import PhotoEvaluation
from asl_recognition.models import TrainedModel, load_model

if TYPE_CHECKING:
    from asl_recognition.compare._photos import PhotoSet

__all__ = ["MIN_ROBUSTNESS_IMAGES", "EvaluationInputs", "ModelPredictions", "predict_models", "robustness_rows"]

logger = logging.getLogger(__name__)

_CHUNK = 1024
#: A model's robustness is never measured on fewer images than this (unless the sample is smaller).
MIN_ROBUSTNESS_IMAGES = 500


@dataclasses.dataclass(frozen=True)
class EvaluationInputs:
    """The inputs every model predicts, built once and shared.

    Attributes:
        images, labels: the test set.
        robust_images, robust_labels: the (sub)sample the corruptions are applied to.
        corrupted: ``(corruption name, corrupted robust_images)`` per corruption and severity, in
            the configured order.
        photos: the observed photo folder, or None.
        robustness_budget_s: a model whose corrupted-image predictions would take longer than
            this is evaluated on fewer of the sample's images (:func:`robustness_rows`); None:
            every model on the whole sample.
    """

    images: npt.NDArray[np.uint8]
    labels: npt.NDArray[np.int64]
    robust_images: npt.NDArray[np.uint8]
    robust_labels: npt.NDArray[np.int64]
    corrupted: tuple[tuple[str, npt.NDArray[np.uint8]], ...]
    photos: PhotoSet | None
    robustness_budget_s: float | None = None


@dataclasses.dataclass(frozen=True)
class ModelPredictions:
    """One model's predictions and the accuracies that follow from them alone."""

    predicted: npt.NDArray[np.int64]
    predict_all_s: float
    robustness_clean_accuracy: float | None
    robustness: dict[str, list[float]]
    photos: PhotoEvaluation | None
    robustness_n: int = 0


def predict_labels(model: TrainedModel, images: npt.NDArray[np.uint8], *, show: str | None = None
                   ) -> npt.NDArray[np.int64]:  # fmt: skip
    """Predicted label ids for ``images`` in chunks; with ``show``, as a progress task."""
    columns = np.asarray(model.labels, dtype=np.int64)
    out = np.empty(len(images), dtype=np.int64)
    with contextlib.ExitStack() as stack:
        t = stack.enter_context(progress.task(show, total=len(images))) if show else None
        for start in range(0, len(images), _CHUNK):
            chunk = images[start : start + _CHUNK]
            out[start : start + len(chunk)] = columns[model.predict_proba(chunk).argmax(axis=1)]
            if t is not None:
                t.advance(len(chunk))
    return out


def robustness_rows(n: int, *, seconds_per_image: float, batches: int, budget_s: float | None,
                    minimum: int = MIN_ROBUSTNESS_IMAGES) -> npt.NDArray[np.intp]:  # fmt: skip
    """The rows of an ``n``-image robustness sample a model is evaluated on: all of them, or, when
    ``batches`` passes over them at ``seconds_per_image`` would take longer than ``budget_s``,
    evenly spaced rows that fit the budget (at least ``minimum``). The rows depend only on the
    count, so models with the same count see the same images.

    >>> robustness_rows(2000, seconds_per_image=1e-4, batches=22, budget_s=30).size
    2000
    >>> robustness_rows(2000, seconds_per_image=2e-3, batches=22, budget_s=30).size
    681
    """
    rows = np.arange(n)
    if budget_s is None or n <= minimum or seconds_per_image * n * batches <= budget_s:
        return rows
    k = max(minimum, int(budget_s / (seconds_per_image * batches)))
    return np.unique(np.linspace(0, n - 1, k).round().astype(np.intp)) if k < n else rows


def model_predictions(model: TrainedModel, inputs: EvaluationInputs, *, name: str) -> ModelPredictions:
    """Everything ``model`` predicts of ``inputs``."""
    start = time.perf_counter()
    predicted = predict_labels(model, inputs.images, show=f"predicting {name}")
    predict_all_s = time.perf_counter() - start
    clean: float | None = None
    robustness: dict[str, list[float]] = {}
    rows = np.arange(len(inputs.robust_labels))
    if inputs.corrupted:
        rows = robustness_rows(len(rows), seconds_per_image=predict_all_s / max(1, len(inputs.images)),
                               batches=len(inputs.corrupted) + 1, budget_s=inputs.robustness_budget_s)  # fmt: skip
        if len(rows) < len(inputs.robust_labels):
            logger.info("%s: robustness on %d of the %d sample images (its predictions would take longer than "
                        "robustness_budget_s=%g s)", name, len(rows), len(inputs.robust_labels),
                        inputs.robustness_budget_s)  # fmt: skip
        labels = inputs.robust_labels[rows]
        with progress.task(f"robustness of {name} (corruptions x severities)", total=len(inputs.corrupted)) as t:
            clean = float((predict_labels(model, inputs.robust_images[rows]) == labels).mean())
            for cname, batch in inputs.corrupted:
                acc = float((predict_labels(model, batch[rows]) == labels).mean())
                robustness.setdefault(cname, []).append(acc)
                t.advance()
    photos = None
    if inputs.photos is not None:
        from asl_recognition.compare._photos import evaluate_photos

        with progress.task(f"predicting {name} on photos", total=None):
            photos = evaluate_photos(model, inputs.photos)
    return ModelPredictions(predicted, predict_all_s, clean, robustness, photos, robustness_n=len(rows))


def predict_models(
    models: Sequence[tuple[str, TrainedModel]],
    inputs: EvaluationInputs,
    *,
    workers: int,
    done: Callable[[str], None] | None = None,
) -> dict[str, ModelPredictions]:
    """:func:`model_predictions` of every ``(name, model)``: in ``workers`` worker processes for
    the models saved on disk when ``workers > 1``, else (and for unsaved models) here, in order.
    ``done(name)`` is called as each model finishes."""
    out: dict[str, ModelPredictions] = {}
    saved = {name: m.source_dir for name, m in models if m.source_dir is not None}
    remote = saved if workers > 1 and len(saved) > 1 else {}
    with contextlib.ExitStack() as stack:
        futures: dict[cf.Future[ModelPredictions], str] = {}
        if remote:
            pool = stack.enter_context(process_pool(min(workers, len(remote)), initializer=_init_worker,
                                                    initargs=(inputs,)))  # fmt: skip
            futures = {pool.submit(_worker_predictions, name, str(path)): name for name, path in remote.items()}
        for name, model in models:
            if name not in remote:
                out[name] = model_predictions(model, inputs, name=name)
                if done is not None:
                    done(name)
        for future in cf.as_completed(futures):
            name = futures[future]
            out[name] = future.result()
            if done is not None:
                done(name)
    return {name: out[name] for name, _ in models}


_worker_inputs: EvaluationInputs | None = None


def _init_worker(inputs: EvaluationInputs) -> None:
    global _worker_inputs
    _worker_inputs = inputs


def _worker_predictions(name: str, model_dir: str) -> ModelPredictions:
    assert _worker_inputs is not None, "worker not initialised"
    set_log_prefix(name)
    return model_predictions(load_model(model_dir), _worker_inputs, name=name)


def robustness_batches(
    images: npt.NDArray[np.uint8], corruptions: Mapping[str, Sequence[float]], *, seed: int
) -> tuple[tuple[str, npt.NDArray[np.uint8]], ...]:
    """Each corruption at each severity applied to ``images`` once (seeded), in config order."""
    from asl_recognition.compare._robustness import corrupt

    return tuple(
        (cname, corrupt(images, cname, param, seed=seed, level=level))
        for cname, params in corruptions.items()
        for level, param in enumerate(params, start=1)
    )
