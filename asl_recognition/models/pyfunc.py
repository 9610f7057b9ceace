"""MLflow's ``python_function`` loader for the library's model directories.

Every directory :meth:`~asl_recognition.models.TrainedModel.save` writes has an ``MLmodel`` file
naming this module, so MLflow loads any of the library's models, whatever its flavour::

    import mlflow
    pyfunc = mlflow.pyfunc.load_model("out/best")
    pyfunc.predict(images)                     # label ids, as TrainedModel.predict

The model is rebuilt by :func:`~asl_recognition.models.load_model` (no pickle, no cloudpickle).
:meth:`AslPyfuncModel.predict` accepts what :meth:`~asl_recognition.models.TrainedModel.predict`
accepts, (N, 28, 28) or (N, 784) arrays of 0..255 pixels (also nested lists, as
``mlflow models serve`` passes ``{"instances": ...}``), plus DataFrames:

* columns ``pixel1`` .. ``pixel784`` (the Sign Language MNIST CSV layout; other columns, such
  as ``label``, are ignored): one image per row;
* a column ``image`` of photos: encoded PNG/JPEG bytes, the same base64-encoded (as JSON carries
  them) or paths of image files. Each photo goes through
  :meth:`~asl_recognition.models.TrainedModel.predict_photos`, so a photo-native model reads the
  photo itself (hand landmarks and side) and any other model its 28x28 hand crop.

It returns the label ids (int64, shape (N,)), the same as the model's own ``predict``.

>>> import numpy as np, pandas as pd
>>> from asl_recognition.models.pyfunc import pixels_from_frame
>>> frame = pd.DataFrame(np.zeros((2, 784), dtype=int), columns=[f"pixel{i}" for i in range(1, 785)])
>>> pixels_from_frame(frame).shape
(2, 784)
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from asl_recognition.errors import InvalidParameterError
from asl_recognition.models.base import METADATA_FILE, TrainedModel, load_model

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PIXEL_COLUMNS", "PHOTO_COLUMN", "AslPyfuncModel", "photos_from_frame", "pixels_from_frame"]

#: the pixel columns of a DataFrame input, in image order
PIXEL_COLUMNS = tuple(f"pixel{i}" for i in range(1, 785))
#: the column of a DataFrame input that holds photos
PHOTO_COLUMN = "image"


def pixels_from_frame(frame: pd.DataFrame) -> npt.NDArray[np.float32]:
    """The (N, 784) pixels of a DataFrame with columns ``pixel1..pixel784``."""
    missing = [c for c in PIXEL_COLUMNS if c not in frame.columns]
    if missing:
        shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        raise InvalidParameterError(
            f"DataFrame input lacks {len(missing)} pixel column(s) ({shown}): give pixel1..pixel784, "
            f"or a column {PHOTO_COLUMN!r} of photos; got columns {list(frame.columns)[:5]}"
        )
    try:
        return frame.loc[:, list(PIXEL_COLUMNS)].to_numpy(dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"DataFrame pixel columns must be numbers 0..255: {exc}") from exc


def _photo(value: Any, row: int) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        if len(value) < 4096 and Path(value).is_file():
            return Path(value)
        text = value.split(",", 1)[1] if value.startswith("data:") else value
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidParameterError(
                f"column {PHOTO_COLUMN!r} row {row}: neither an existing file nor base64-encoded image data"
            ) from None
    if isinstance(value, np.ndarray):
        return value
    raise InvalidParameterError(
        f"column {PHOTO_COLUMN!r} row {row}: expected image bytes, base64 text or a path, got {type(value).__name__}"
    )


def photos_from_frame(frame: pd.DataFrame) -> list[Any]:
    """The photos of a DataFrame's ``image`` column (bytes, base64 text or paths) as the library
    reads them (bytes or :class:`~pathlib.Path`)."""
    return [_photo(v, i) for i, v in enumerate(frame[PHOTO_COLUMN].tolist())]


class AslPyfuncModel:
    """What ``mlflow.pyfunc.load_model`` wraps: a :class:`TrainedModel` with MLflow's ``predict``."""

    def __init__(self, model: TrainedModel) -> None:
        self.model = model

    def predict(self, model_input: Any, params: Mapping[str, Any] | None = None) -> npt.NDArray[np.int64]:
        """Label ids for images (arrays or DataFrames, see the module docstring)."""
        import pandas as pd

        if isinstance(model_input, pd.DataFrame):
            if PHOTO_COLUMN in model_input.columns:
                return self.model.predict_photos(photos_from_frame(model_input))
            return self.model.predict(pixels_from_frame(model_input))
        if isinstance(model_input, Mapping):
            raise InvalidParameterError(
                f"dictionary input (keys {sorted(model_input)[:5]}) is not supported: give an array of "
                f"images or a DataFrame of pixel1..pixel784 (or {PHOTO_COLUMN!r}) columns"
            )
        return self.model.predict(model_input)

    def __repr__(self) -> str:
        return f"AslPyfuncModel({self.model!r})"


def _load_pyfunc(data_path: str, model_config: Mapping[str, Any] | None = None) -> AslPyfuncModel:
    """MLflow's entry point: ``data_path`` is the model's ``asl_model.json`` (or its directory)."""
    path = Path(data_path)
    directory = path.parent if path.name == METADATA_FILE else path
    return AslPyfuncModel(load_model(directory))
