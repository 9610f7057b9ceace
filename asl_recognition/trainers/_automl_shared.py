"""The Azure ``automl`` backends' shared part (SDK v1 and v2, no SDK import).

The seed study's AutoML settings (:data:`SEED_SETTINGS`, in SDK v1 ``AutoMLConfig`` names:
both SDK backends take overrides in these names; the v2 backend maps them to
``automl.classification`` names), their checks, and the wrapping of AutoML's ONNX export as an
:class:`~asl_recognition.models.onnx.OnnxModel` served by onnxruntime: the AutoML pickle is
never loaded (it needs the exact AutoML runtime and runs code when unpickled). AutoML's ONNX
graph takes the 784 pixel columns as separate inputs; the input layout and dtype are read from
the graph and recorded in the model's metadata.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from asl_recognition.errors import ConfigurationError, ModelFormatError
from asl_recognition.models import ModelMetadata
from asl_recognition.trainers.base import TrainResult, TrialRecord, validation_metrics

if TYPE_CHECKING:
    from asl_recognition.data.dataset import Dataset
    from asl_recognition.models.onnx import OnnxModel

__all__ = [
    "ONNX_FILE",
    "SEED_SETTINGS",
    "automl_result",
    "automl_settings",
    "numeric_metrics",
    "onnx_input_spec",
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


def numeric_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The numeric entries of ``metrics`` as floats (AutoML also reports tables and URLs)."""
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def automl_result(
    onnx_bytes: bytes,
    *,
    train: Dataset,
    validation: Dataset,
    hyperparameters: Mapping[str, Any],
    azure: Mapping[str, Any],
    trials: Sequence[TrialRecord],
    started: float,
) -> TrainResult:
    """The :class:`TrainResult` of a finished Azure AutoML job whose best model is ``onnx_bytes``.

    The model is measured here, on the leak-free ``validation`` split (``started``: the
    ``time.perf_counter()`` at which the job began).
    """
    model = wrap_onnx(
        onnx_bytes,
        labels=tuple(int(x) for x in np.unique(train.labels)),
        hyperparameters=hyperparameters,
        data_fingerprint=train.fingerprint,
        extra={"azure": dict(azure)},
    )
    metrics = validation_metrics(model, validation)
    model.metadata.metrics.update(metrics)
    return TrainResult(
        model=model,
        metrics=metrics,
        hyperparameters=dict(model.metadata.hyperparameters),
        timings={"fit_s": time.perf_counter() - started},
        trials=list(trials),
        backend="automl",
    )
