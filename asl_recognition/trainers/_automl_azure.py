"""The ``automl`` backend on Azure (SDK v1): the seed's AutoML settings, the run, the best model as ONNX.

The defaults are the seed study's settings (:data:`SEED_SETTINGS`, shared with the SDK v2
backend in :mod:`asl_recognition.trainers._automl_shared`); any of them, and any other
``AutoMLConfig`` keyword, can be overridden. AutoML validates on the registered leak-free
validation dataset (``validation_data=``) instead of its default random holdout, which leaks on
this data (the training file is augmented near-duplicates).

The best child run's ONNX export (``outputs/model.onnx``, written because
``enable_onnx_compatible_models=True``) is downloaded and wrapped as an
:class:`~asl_recognition.models.onnx.OnnxModel`, served by onnxruntime: the AutoML pickle is never
loaded (it needs the exact AutoML runtime and runs code when unpickled). AutoML's ONNX graph
takes the 784 pixel columns as separate inputs; the input layout and dtype are read from the
graph and recorded in the model's metadata.

Every Azure call goes through the adapter (:mod:`asl_recognition.azure`): this module decides
what to run and what the result means; the adapter builds the SDK objects and talks to Azure.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asl_recognition.azure import jobs
from asl_recognition.azure.compute import ensure_compute
from asl_recognition.azure.datasets import ensure_dataset
from asl_recognition.azure.gateway import AzureGateway
from asl_recognition.azure.settings import AzureSettings
from asl_recognition.errors import TrainingError
from asl_recognition.trainers._automl_shared import (
    ONNX_FILE,
    SEED_SETTINGS,
    automl_result,
    automl_settings,
    numeric_metrics,
    onnx_input_spec,
    wrap_onnx,
)
from asl_recognition.trainers._azure_trials import trial_records
from asl_recognition.trainers.base import TrainResult

if TYPE_CHECKING:
    from asl_recognition.data.dataset import Dataset

__all__ = [
    "ONNX_FILE",
    "SEED_SETTINGS",
    "automl_config",
    "automl_settings",
    "onnx_input_spec",
    "run_automl",
    "wrap_onnx",
]


def automl_config(
    overrides: Mapping[str, Any] | None,
    *,
    compute_target: Any,
    training_data: Any,
    validation_data: Any,
) -> Any:
    """The ``AutoMLConfig`` of :func:`automl_settings` (``overrides``) on the given data.

    ``training_data``/``validation_data`` are the registered tabular datasets.
    """
    return jobs.automl_config(
        automl_settings(overrides),
        compute_target=compute_target,
        training_data=training_data,
        validation_data=validation_data,
    )


def run_automl(
    gateway: AzureGateway,
    settings: AzureSettings,
    *,
    train: Dataset,
    validation: Dataset,
    overrides: Mapping[str, Any] | None = None,
) -> TrainResult:
    """Register the data, submit AutoML, wait, and return its best model (as ONNX)."""
    start = time.perf_counter()
    compute = ensure_compute(gateway, settings.compute)
    name = settings.dataset_name
    train_data = ensure_dataset(gateway, train, name=name, description="Sign Language MNIST (training part)")
    val_data = ensure_dataset(gateway, validation, name=f"{name}-validation", description="leak-free validation split")
    config = automl_config(
        overrides,
        compute_target=compute,
        training_data=train_data.tabular,
        validation_data=val_data.tabular,
    )
    metric = str(automl_settings(overrides)["primary_metric"])
    run = jobs.submit(
        gateway,
        settings.experiment_name,
        config,
        tags={"backend": "automl", "fingerprint": train.fingerprint},
        what="AutoML",
    )
    best = jobs.best_child(gateway, run, metric=metric, show_output=settings.show_output, what="AutoML")
    if ONNX_FILE not in best.files:
        raise TrainingError(
            f"best AutoML run {best.id} has no {ONNX_FILE} (files: {sorted(best.files)[:10]}...); "
            "was enable_onnx_compatible_models set?"
        )
    with tempfile.TemporaryDirectory(prefix="asl-automl-") as tmp:
        path = gateway.download(best, prefix=ONNX_FILE, destination=Path(tmp))
        onnx_bytes = path.read_bytes()
    algorithm = best.properties.get("run_algorithm", "unknown")
    return automl_result(
        onnx_bytes,
        train=train,
        validation=validation,
        hyperparameters={"algorithm": algorithm, "run_id": best.id, **dict(overrides or {})},
        azure={"run_id": run.id, "best_run_id": best.id, "metrics": numeric_metrics(best.metrics)},
        trials=trial_records(gateway.children(run), metric=metric, params="properties"),
        started=start,
    )
