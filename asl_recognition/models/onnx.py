"""The generic ``onnx`` model flavour: any model exported to ONNX, served by onnxruntime.

Every backend may add an ONNX export to its saved directory (``files["onnx"]``); such a model
then loads and serves without the backend's own framework (no TensorFlow, torch or AutoML
runtime needed), and ONNX files execute no Python code when loaded.

How the graph is fed is described by ``metadata.extra["onnx"]`` (all keys optional):

``input_layout``
    ``"nhw"`` (default): float32 (N, 28, 28); ``"nhwc"``: (N, 28, 28, 1); ``"nchw"``:
    (N, 1, 28, 28); ``"flat"``: (N, 784); ``"columns"``: one (N, 1) input per pixel column
    (AutoML's tabular export, inputs named ``pixel1`` ... ``pixel784``).
``input_scale``
    multiplier applied to the 0..255 pixels before the graph (default 1.0: the graph does its
    own preprocessing).
``input_dtype``
    ``"float32"`` (default), ``"float64"`` or ``"int64"``.
``output``
    name of the probability output (default: the output whose shape is (N, classes), else the
    last output). Outputs that are a list of ``{label: probability}`` maps (skl2onnx's ZipMap)
    are converted using ``metadata.labels``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from asl_recognition._io import atomic_write_bytes
from asl_recognition._validation import Interval, check_param
from asl_recognition.data.arrays import NUM_PIXELS
from asl_recognition.errors import MissingDependencyError, ModelFormatError
from asl_recognition.models.base import ModelMetadata, TrainedModel, register_model_type

__all__ = ["OnnxModel"]

#: images per onnxruntime call in predict
_PREDICT_BATCH = 512

_LAYOUTS = ("nhw", "nhwc", "nchw", "flat", "columns")
_DTYPES = {"float32": np.float32, "float64": np.float64, "int64": np.int64}


def _ort() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:  # pragma: no cover - onnxruntime is a core dependency
        raise MissingDependencyError(
            'serving ONNX models needs onnxruntime: pip install "asl-recognition[serve]"'
        ) from exc
    return onnxruntime


@register_model_type("onnx")
class OnnxModel(TrainedModel):
    """A :class:`~asl_recognition.models.base.TrainedModel` backed by an ONNX graph.

    Args:
        metadata: model metadata; ``metadata.extra["onnx"]`` describes the input layout.
        onnx_bytes: the serialised ONNX model.
    """

    model_type = "onnx"

    def __init__(self, *, metadata: ModelMetadata, onnx_bytes: bytes) -> None:
        super().__init__(metadata=metadata)
        spec = dict(metadata.extra.get("onnx", {}))
        layout = spec.get("input_layout", "nhw")
        if layout not in _LAYOUTS:
            raise ModelFormatError(f"onnx input_layout must be one of {_LAYOUTS}, got {layout!r}")
        dtype = spec.get("input_dtype", "float32")
        if dtype not in _DTYPES:
            raise ModelFormatError(f"onnx input_dtype must be one of {tuple(_DTYPES)}, got {dtype!r}")
        self._layout: str = layout
        self._scale = float(spec.get("input_scale", 1.0))
        self._dtype = _DTYPES[dtype]
        self._output: str | None = spec.get("output")
        self._bytes = onnx_bytes
        self._session: Any = None
        self._threads: int | None = None
        self._lock = threading.Lock()

    @property
    def onnx_bytes(self) -> bytes:
        """The serialised ONNX graph."""
        return self._bytes

    def set_threads(self, threads: int | None) -> None:
        """Threads onnxruntime may use inside one prediction (None: its default, one per core).

        A server that runs one worker process per core should set 1: extra threads only spin
        between requests and take CPU from the other workers. Applies from the next prediction.
        """
        check_param("threads", threads, None, Interval(int, 1, None))
        with self._lock:
            if threads != self._threads:
                self._threads = threads
                self._session = None

    def _get_session(self) -> Any:
        with self._lock:
            if self._session is None:
                ort = _ort()
                opts = ort.SessionOptions()
                opts.log_severity_level = 3
                if self._threads is not None:
                    opts.intra_op_num_threads = self._threads
                    opts.inter_op_num_threads = 1
                try:
                    self._session = ort.InferenceSession(
                        self._bytes, sess_options=opts, providers=["CPUExecutionProvider"]
                    )
                except Exception as exc:  # onnxruntime raises its own untyped errors
                    raise ModelFormatError(f"not a loadable ONNX model: {exc}") from exc
            return self._session

    def _feed(self, session: Any, images: npt.NDArray[np.float32]) -> dict[str, Any]:
        x = (images * self._scale).astype(self._dtype) if self._scale != 1.0 else images.astype(self._dtype)
        inputs = session.get_inputs()
        n = len(x)
        if self._layout == "columns":
            flat = x.reshape(n, NUM_PIXELS)
            if len(inputs) != NUM_PIXELS:
                raise ModelFormatError(f"'columns' layout needs {NUM_PIXELS} inputs, graph has {len(inputs)}")
            return {inp.name: flat[:, i : i + 1] for i, inp in enumerate(inputs)}
        shaped = {
            "nhw": x,
            "nhwc": x[..., None],
            "nchw": x[:, None, :, :],
            "flat": x.reshape(n, NUM_PIXELS),
        }[self._layout]
        return {inputs[0].name: shaped}

    def _pick_output(self, session: Any, outputs: list[Any]) -> npt.NDArray[np.float32]:
        names = [o.name for o in session.get_outputs()]
        n_classes = len(self.labels)
        if self._output is not None:
            if self._output not in names:
                raise ModelFormatError(f"onnx output {self._output!r} not in graph outputs {names}")
            chosen = outputs[names.index(self._output)]
        else:
            chosen = outputs[-1]
            for out in outputs:
                if isinstance(out, np.ndarray) and out.ndim == 2 and out.shape[1] == n_classes:
                    chosen = out
                    break
        if isinstance(chosen, list) and chosen and isinstance(chosen[0], Mapping):
            return np.array(
                [[float(row.get(label, row.get(str(label), 0.0))) for label in self.labels] for row in chosen],
                dtype=np.float32,
            )
        return np.asarray(chosen, dtype=np.float32)

    def _predict_proba(self, images: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        session = self._get_session()
        # bounded batches: the activations of one batch stay in cache (faster than one run:
        # docs/measurements.md)
        parts = [
            self._pick_output(session, session.run(None, self._feed(session, images[i : i + _PREDICT_BATCH])))
            for i in range(0, len(images), _PREDICT_BATCH)
        ]
        return np.concatenate(parts)

    def _save_files(self, directory: Path) -> Mapping[str, str]:
        atomic_write_bytes(directory / "model.onnx", self._bytes)
        return {"onnx": "model.onnx"}

    @classmethod
    def _load(cls, directory: Path, metadata: ModelMetadata) -> OnnxModel:
        return cls(metadata=metadata, onnx_bytes=metadata.file("onnx", directory).read_bytes())
