"""The ``keras`` model flavour: a saved Keras network plus its ONNX export.

Directory layout (besides ``asl_model.json``)::

    model.keras   the inference network, saved without optimizer state, loaded with
                  safe_mode=True (no Python code from the file runs)
    model.onnx    the same network for onnxruntime: float32 (N, 28, 28) raw 0..255 pixels in,
                  probabilities (N, C) out, preprocessing inside the graph

Where Keras is not installed, :func:`asl_recognition.load_model` serves the ONNX file through
the generic ``onnx`` flavour (:mod:`asl_recognition.models.onnx`) instead.
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from asl_recognition._io import atomic_write_bytes
from asl_recognition.errors import ModelFormatError
from asl_recognition.models._keras_env import import_keras, loaded_backend
from asl_recognition.models.base import ModelMetadata, TrainedModel, register_model_type

__all__ = ["KerasModel", "export_onnx"]

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "model.keras"
ONNX_FILE = "model.onnx"
#: how the generic onnx flavour feeds the export (see asl_recognition.models.onnx)
ONNX_SPEC: dict[str, Any] = {"input_layout": "nhw", "input_dtype": "float32", "input_scale": 1.0}
_PREDICT_BATCH = 1024


def export_onnx(network: Any) -> bytes:
    """Serialise a Keras network to ONNX with Keras' own exporter (tf2onnx or torch.onnx)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ONNX_FILE
        try:
            with warnings.catch_warnings():  # tf2onnx's np.object / torch's TracerWarnings
                warnings.simplefilter("ignore")
                network.export(str(path), format="onnx", verbose=False)
        except Exception as exc:  # the exporters raise many unrelated types
            raise ModelFormatError(f"ONNX export of the Keras network failed: {exc}") from exc
        return path.read_bytes()


@register_model_type("keras")
class KerasModel(TrainedModel):
    """A Keras CNN as a :class:`~asl_recognition.models.base.TrainedModel`.

    Args:
        metadata: model metadata (``extra["keras_backend"]`` names the backend it trained on).
        network: the Keras inference network: float32 (N, 28, 28) 0..255 -> (N, C) probabilities.
        onnx_bytes: its ONNX export (made on first save when not given).
    """

    model_type = "keras"

    def __init__(self, *, metadata: ModelMetadata, network: Any, onnx_bytes: bytes | None = None) -> None:
        super().__init__(metadata=metadata)
        self.network = network
        self._onnx = onnx_bytes

    @property
    def onnx_bytes(self) -> bytes:
        """The ONNX export of the network (computed once)."""
        if self._onnx is None:
            self._onnx = export_onnx(self.network)
        return self._onnx

    def _predict_proba(self, images: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        # predict_on_batch runs the network as one compiled function (traced on first use, and
        # once more for the first other batch size); calling the network eagerly runs it layer by
        # layer from Python, which costs more than the network itself for one photo's crop
        out = [
            np.asarray(self.network.predict_on_batch(images[i : i + _PREDICT_BATCH]))
            for i in range(0, len(images), _PREDICT_BATCH)
        ]
        return np.asarray(np.concatenate(out), dtype=np.float32)

    def _save_files(self, directory: Path) -> Mapping[str, str]:
        self.network.save(directory / WEIGHTS_FILE)  # uncompiled network: no optimizer state
        atomic_write_bytes(directory / ONNX_FILE, self.onnx_bytes)
        return {"weights": WEIGHTS_FILE, "onnx": ONNX_FILE}

    @classmethod
    def _load(cls, directory: Path, metadata: ModelMetadata) -> KerasModel:
        weights = metadata.file("weights", directory)
        keras = import_keras(loaded_backend() or metadata.extra.get("keras_backend", "tensorflow"))
        try:
            network = keras.saving.load_model(weights, compile=False, safe_mode=True)
        except Exception as exc:  # keras raises ValueError/OSError/zipfile errors
            raise ModelFormatError(f"{weights}: not a loadable Keras model: {exc}") from exc
        onnx_bytes = metadata.file("onnx", directory).read_bytes() if "onnx" in metadata.files else None
        return cls(metadata=metadata, network=network, onnx_bytes=onnx_bytes)
