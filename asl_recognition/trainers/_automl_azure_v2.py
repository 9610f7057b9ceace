"""The ``automl`` backend on Azure ML SDK v2: ``automl.classification`` with the seed's settings.

The settings are the seed study's (:data:`~asl_recognition.trainers._automl_shared.SEED_SETTINGS`)
with the user's overrides, both in SDK v1 ``AutoMLConfig`` names and checked by the same rules
as on SDK v1 (no cross-validation or random holdout, ONNX export on); :func:`v2_settings` maps
them to SDK v2 names (:data:`V2_NAMES`: ``experiment_timeout_hours`` becomes
``set_limits(timeout_minutes=...)``, ``max_concurrent_iterations`` ``max_concurrent_trials``,
``enable_early_stopping`` ``enable_early_termination``, ``enable_onnx_compatible_models``
``set_training(...)``, ...). The training data and the leak-free validation split are
registered as ``mltable`` assets and AutoML validates on the latter. The best trial's ONNX
export is downloaded and wrapped as an :class:`~asl_recognition.models.onnx.OnnxModel`, served
by onnxruntime (as on SDK v1).

Every Azure call goes through the adapter (:mod:`asl_recognition.azure_v2`).

>>> v2_settings({"max_concurrent_iterations": 4})["limits"]["max_concurrent_trials"]
4
>>> v2_settings(None)["limits"]["timeout_minutes"]
66
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asl_recognition.azure.settings import AzureSettings
from asl_recognition.azure_v2 import jobs
from asl_recognition.azure_v2.compute import ensure_compute
from asl_recognition.azure_v2.data import ensure_data, job_input
from asl_recognition.errors import ConfigurationError, TrainingError
from asl_recognition.trainers._automl_shared import ONNX_FILE, automl_result, automl_settings
from asl_recognition.trainers._azure_trials import trial_records
from asl_recognition.trainers.base import TrainResult

if TYPE_CHECKING:
    from asl_recognition.data.dataset import Dataset

__all__ = ["V2_NAMES", "classification_job", "run_automl_v2", "v2_settings"]


def _minutes(hours: Any) -> int:
    return max(1, round(float(hours) * 60))


def _same(value: Any) -> Any:
    return value


#: SDK v1 ``AutoMLConfig`` keyword -> (SDK v2 section, SDK v2 name, conversion). Sections:
#: ``job`` (``automl.classification`` keywords), ``limits`` (``set_limits``), ``training``
#: (``set_training``), ``featurization`` (``set_featurization``).
V2_NAMES: dict[str, tuple[str, str, Callable[[Any], Any]]] = {
    "primary_metric": ("job", "primary_metric", _same),
    "label_column_name": ("job", "target_column_name", _same),
    "weight_column_name": ("job", "weight_column_name", _same),
    "experiment_timeout_hours": ("limits", "timeout_minutes", _minutes),
    "experiment_timeout_minutes": ("limits", "timeout_minutes", int),
    "iteration_timeout_minutes": ("limits", "trial_timeout_minutes", int),
    "max_concurrent_iterations": ("limits", "max_concurrent_trials", int),
    "iterations": ("limits", "max_trials", int),
    "max_cores_per_iteration": ("limits", "max_cores_per_trial", int),
    "experiment_exit_score": ("limits", "exit_score", float),
    "enable_early_stopping": ("limits", "enable_early_termination", bool),
    "enable_onnx_compatible_models": ("training", "enable_onnx_compatible_models", bool),
    "enable_dnn": ("training", "enable_dnn_training", bool),
    "enable_stack_ensemble": ("training", "enable_stack_ensemble", bool),
    "enable_voting_ensemble": ("training", "enable_vote_ensemble", bool),
    "model_explainability": ("training", "enable_model_explainability", bool),
    "allowed_models": ("training", "allowed_training_algorithms", list),
    "blocked_models": ("training", "blocked_training_algorithms", list),
    "featurization": ("featurization", "mode", str),
}


def v2_settings(overrides: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The seed's settings plus ``overrides`` (SDK v1 names), checked, in SDK v2 sections.

    Raises:
        ConfigurationError: a setting with no SDK v2 counterpart, or a task other than
            classification.
    """
    settings = automl_settings(overrides)
    task = settings.pop("task", "classification")
    if task != "classification":
        raise ConfigurationError(f"AutoML setting task must be 'classification' on SDK v2, got {task!r}")
    unknown = sorted(set(settings) - set(V2_NAMES))
    if unknown:
        raise ConfigurationError(
            f"AutoML settings {unknown} have no SDK v2 counterpart here; mapped: {', '.join(sorted(V2_NAMES))}"
        )
    out: dict[str, dict[str, Any]] = {"job": {}, "limits": {}, "training": {}, "featurization": {}}
    for key, value in settings.items():  # seed first, overrides after: a later key wins
        section, name, convert = V2_NAMES[key]
        out[section][name] = convert(value)
    return out


def classification_job(overrides: Mapping[str, Any] | None, data: tuple[Any, Any], **placement: Any) -> Any:
    """The ``ClassificationJob`` of :func:`v2_settings` (``overrides``) on ``data``.

    ``data`` is the (training, validation) pair of MLTable inputs; ``placement`` holds
    ``compute``, ``experiment_name`` and optionally ``tags``.
    """
    mapped = v2_settings(overrides)
    return jobs.classification_job(
        job=mapped["job"],
        limits=mapped["limits"],
        training=mapped["training"],
        featurization=mapped["featurization"] or None,
        training_data=data[0],
        validation_data=data[1],
        **placement,
    )


def run_automl_v2(
    client: Any,
    settings: AzureSettings,
    *,
    overrides: Mapping[str, Any] | None = None,
    train: Dataset,
    validation: Dataset,
) -> TrainResult:
    """Register the MLTables, submit AutoML, stream it, and return its best model (as ONNX)."""
    name = f"{settings.dataset_name}-mltable"
    start = time.perf_counter()
    compute = ensure_compute(client, settings.compute)
    train_asset = ensure_data(
        client, train, name=name, kind="mltable", description="Sign Language MNIST (training part)"
    )
    val_asset = ensure_data(
        client, validation, name=f"{name}-validation", kind="mltable", description="leak-free validation split"
    )
    job = classification_job(
        overrides,
        (job_input(train_asset), job_input(val_asset)),
        compute=compute,
        experiment_name=settings.experiment_name,
        tags={"backend": "automl", "fingerprint": train.fingerprint},
    )
    submitted = jobs.submit(client, job, what="AutoML")
    final = jobs.wait(client, submitted, show_output=settings.show_output, what="AutoML")
    best = jobs.best_child_name(final, what="AutoML")
    with tempfile.TemporaryDirectory(prefix="asl-automl-v2-") as tmp:
        onnx_path = jobs.download(client, best, destination=Path(tmp)) / ONNX_FILE
        if not onnx_path.is_file():
            raise TrainingError(
                f"best AutoML job {best} has no {ONNX_FILE} among its outputs; was enable_onnx_compatible_models set?"
            )
        onnx_bytes = onnx_path.read_bytes()
    trials = jobs.children(client, final.name)
    best_trial = next((t for t in trials if t.id == best), None)
    algorithm = best_trial.properties.get("run_algorithm", "unknown") if best_trial is not None else "unknown"
    metric = str(v2_settings(overrides)["job"].get("primary_metric", "accuracy"))
    return automl_result(
        onnx_bytes,
        train=train,
        validation=validation,
        hyperparameters={"run_id": best, "algorithm": algorithm, **dict(overrides or {})},
        azure={"sdk": "v2", "job": final.name, "best_job": best},
        trials=trial_records(trials, metric=metric, params="properties"),
        started=start,
    )
