"""The ``automl`` backend on Azure (SDK v1): the seed's AutoML settings, the run, the best model as ONNX.

The defaults are the seed study's settings (:data:`SEED_SETTINGS`); any of them, and any other
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

import numpy as np

from asl_recognition.azure import jobs
from asl_recognition.azure.compute import ensure_compute
from asl_recognition.azure.datasets import ensure_dataset
from asl_recognition.azure.gateway import AzureGateway
from asl_recognition.azure.settings import AzureSettings
from asl_recognition.errors import ConfigurationError, ModelFormatError, TrainingError
from asl_recognition.models import ModelMetadata
from asl_recognition.trainers._azure_trials import trial_records
from asl_recognition.trainers.base import TrainResult, validation_metrics

if TYPE_CHECKING:
    from asl_recognition.data.dataset import Dataset
    from asl_recognition.models.onnx import OnnxModel

__all__ = [
    "ONNX_FILE",
    "SEED_SETTINGS",
    "automl_config",
    "automl_settings",
    "onnx_input_spec",
    "run_automl",
    "wrap_onnx",
]

#: the seed study's AutoML settings (see docs/azure.md)
SEED_SETTINGS: dict[str, Any] = {
    "task": "classification",
    "primary_metric": "accuracy",
    "label_column_name": "label",
    "experiment_timeout_hours": 1.1,
    "iteration_timeout_minutes": 10,
    "max_concurrent_iterations": 10,
    "enable_early_stopping": True,
    "enable_onnx_compatible_models": True,
}
#: where AutoML writes the ONNX export of a child run's model
ONNX_FILE = "outputs/model.onnx"
_FORBIDDEN = {
    "training_data",
    "validation_data",
    "compute_target",
    "n_cross_validations",
    "validation_size",
}


def automl_settings(overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """:data:`SEED_SETTINGS` updated with ``overrides``, checked.

    Overrides may not replace the data nor ask for cross-validation or a random holdout, and
    must keep the ONNX export on.

    >>> automl_settings({"max_concurrent_iterations": 2})["max_concurrent_iterations"]
    2
    """
    settings = dict(SEED_SETTINGS)
    settings.update(overrides or {})
    bad = sorted(_FORBIDDEN & set(settings))
    if bad:
        raise ConfigurationError(
            f"AutoML settings may not set {bad}: the data and the leak-free validation set are chosen by the trainer"
        )
    if not settings.get("enable_onnx_compatible_models"):
        raise ConfigurationError(
            "AutoML setting enable_onnx_compatible_models must stay true: the best model is "
            "fetched as ONNX (AutoML pickles do not load outside the AutoML runtime)"
        )
    return settings


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


def onnx_input_spec(onnx_bytes: bytes) -> dict[str, Any]:
    """How to feed a graph: ``{"input_layout": ..., "input_dtype": ...}`` read from its inputs."""
    import onnx

    try:
        graph = onnx.load_from_string(onnx_bytes).graph
    except Exception as exc:  # protobuf DecodeError
        raise ModelFormatError(f"the AutoML ONNX file is not a valid ONNX model: {exc}") from exc
    dtypes = {
        onnx.TensorProto.FLOAT: "float32",
        onnx.TensorProto.DOUBLE: "float64",
        onnx.TensorProto.INT64: "int64",
    }
    inputs = list(graph.input)
    kinds = {inp.type.tensor_type.elem_type for inp in inputs}
    if len(kinds) != 1 or next(iter(kinds)) not in dtypes:
        raise ModelFormatError(f"unsupported ONNX input types {sorted(kinds)} (expected one numeric type)")
    dtype = dtypes[next(iter(kinds))]
    if len(inputs) == 784:
        return {"input_layout": "columns", "input_dtype": dtype}
    if len(inputs) == 1:
        return {"input_layout": "flat", "input_dtype": dtype}
    raise ModelFormatError(f"the ONNX graph has {len(inputs)} inputs; expected 784 pixel columns or 1")


def wrap_onnx(
    onnx_bytes: bytes,
    *,
    labels: tuple[int, ...],
    hyperparameters: Mapping[str, Any],
    data_fingerprint: str | None,
    extra: Mapping[str, Any],
) -> OnnxModel:
    """An :class:`OnnxModel` for an AutoML ONNX export (raw 0..255 pixel columns as inputs)."""
    from asl_recognition.models.onnx import OnnxModel

    metadata = ModelMetadata.create(
        model_type=OnnxModel.model_type,
        backend="automl",
        labels=labels,
        preprocessing={
            "input": "raw pixels 0..255 as columns pixel1..pixel784",
            "featurisation": "inside the AutoML ONNX graph",
        },
        hyperparameters=dict(hyperparameters),
        data_fingerprint=data_fingerprint,
        extra={**extra, "onnx": onnx_input_spec(onnx_bytes)},
    )
    return OnnxModel(metadata=metadata, onnx_bytes=onnx_bytes)


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
    model = wrap_onnx(
        onnx_bytes,
        labels=tuple(int(x) for x in np.unique(train.labels)),
        hyperparameters={"algorithm": algorithm, "run_id": best.id, **dict(overrides or {})},
        data_fingerprint=train.fingerprint,
        extra={"azure": {"run_id": run.id, "best_run_id": best.id, "metrics": _plain(best.metrics)}},
    )
    metrics = validation_metrics(model, validation)
    model.metadata.metrics.update(metrics)
    return TrainResult(
        model=model,
        metrics=metrics,
        hyperparameters=dict(model.metadata.hyperparameters),
        timings={"fit_s": time.perf_counter() - start},
        trials=trial_records(gateway.children(run), metric=metric, params="properties"),
        backend="automl",
    )


def _plain(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
