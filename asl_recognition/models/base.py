"""The ``TrainedModel`` every trainer returns, its on-disk format, :func:`load_model`, and the
model-type (flavour) registry.

A saved model is a directory::

    model_dir/
      asl_model.json     metadata: format version, model type, backend, label map,
                         preprocessing, metrics, data fingerprint, hyperparameters, created-at,
                         and the files below by role
      <weights files>    written by the model type, in formats whose loading runs no code
                         from the file (skops with a type allow-list, ONNX, .keras in safe mode)
      MLmodel            for MLflow: its python_function flavour loads the directory through
                         :mod:`asl_recognition.models.pyfunc` (no pickle); optional when loading

:func:`load_model` reads the metadata and hands the directory to the class registered for its
``model_type``. Each flavour lives in its own module beside this one (:mod:`.sklearn`,
:mod:`.keras`, :mod:`.onnx`, :mod:`.product`) and registers itself there with
:func:`register_model_type`; this module knows the built-ins only as ``"module:Class"`` strings,
so nothing is imported before a model of that flavour is loaded. Third parties register through
the ``asl_recognition.model_types`` entry-point group or :func:`register_model_type`. If a type
cannot be loaded here but the directory carries an ONNX export, the model is served through
onnxruntime instead.

Example (with a tiny model type defined inline):

>>> import numpy as np, tempfile
>>> @register_model_type("doc-uniform")
... class Uniform(TrainedModel):
...     model_type = "doc-uniform"
...     def _predict_proba(self, images):
...         return np.full((len(images), len(self.labels)), 1 / len(self.labels), np.float32)
...     def _save_files(self, directory):
...         return {}
...     @classmethod
...     def _load(cls, directory, metadata):
...         return cls(metadata=metadata)
>>> m = Uniform(metadata=ModelMetadata.create(model_type="doc-uniform", backend="doc"))
>>> d = m.save(tempfile.mkdtemp() + "/m")
>>> load_model(d).predict(np.zeros((1, 784))).tolist()
[0]
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime as _dt
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
import numpy.typing as npt

from asl_recognition._io import atomic_directory, atomic_write_text, directory_size
from asl_recognition._version import __version__
from asl_recognition.data.arrays import as_image_batch
from asl_recognition.data.letters import VALID_LABELS, label_to_letter
from asl_recognition.errors import (
    InvalidParameterError,
    MissingDependencyError,
    ModelFormatError,
    NotFoundError,
)
from asl_recognition.models._mlmodel import MLMODEL_FILE, write_mlmodel
from asl_recognition.registry import Registry

__all__ = [
    "FORMAT_VERSION",
    "METADATA_FILE",
    "MLMODEL_FILE",
    "ModelMetadata",
    "TrainedModel",
    "load_model",
    "model_types",
    "read_metadata",
    "register_model_type",
    "save_submodel",
]

FORMAT_VERSION = 1
METADATA_FILE = "asl_model.json"

M = TypeVar("M", bound="TrainedModel")


def _jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays and tuples in ``value`` to plain JSON types."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


@dataclasses.dataclass
class ModelMetadata:
    """Everything a saved model says about itself (stored as ``asl_model.json``).

    Attributes:
        model_type: registered model type that loads the files (e.g. ``"sklearn"``).
        backend: trainer that produced it (e.g. ``"sklearn"``, ``"cnn"``, ``"automl"``).
        labels: label id of each probability column, in column order.
        preprocessing: how raw 0..255 pixels are transformed before the estimator.
        metrics: validation (and later test) metrics, e.g. ``{"validation_accuracy": 0.9}``.
        hyperparameters: the parameters the model was trained with.
        data_fingerprint: content fingerprint of the training data, if known.
        files: files in the directory by role (``{"weights": "model.skops"}``).
        library_version: ``asl_recognition`` version that saved it.
        created_at: ISO-8601 UTC timestamp.
        extra: free-form, model-type specific information.
    """

    model_type: str
    backend: str
    labels: tuple[int, ...] = VALID_LABELS
    preprocessing: dict[str, Any] = dataclasses.field(default_factory=dict)
    metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    hyperparameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    data_fingerprint: str | None = None
    files: dict[str, str] = dataclasses.field(default_factory=dict)
    library_version: str = ""
    created_at: str = ""
    format_version: int = FORMAT_VERSION
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self.labels = tuple(int(x) for x in self.labels)
        if not self.labels:
            raise InvalidParameterError("a model must predict at least one label")
        for label in self.labels:
            label_to_letter(label)  # raises on 9, 25 or out of range
        if len(set(self.labels)) != len(self.labels):
            raise InvalidParameterError(f"duplicate labels in {self.labels}")

    @classmethod
    def create(cls, *, model_type: str, backend: str, **fields: Any) -> ModelMetadata:
        """New metadata stamped with the library version and the current UTC time."""
        fields.setdefault("library_version", __version__)
        fields.setdefault("created_at", _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
        return cls(model_type=model_type, backend=backend, **fields)

    def file(self, role: str, directory: Path) -> Path:
        """Path of the file listed for ``role`` (e.g. ``"weights"``) in the model ``directory``.

        Raises:
            ModelFormatError: the metadata lists no file for ``role``.
        """
        name = self.files.get(role)
        if name is None:
            raise ModelFormatError(f"{directory}: metadata lists no {role!r} file")
        return directory / name

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        out: dict[str, Any] = _jsonable(dataclasses.asdict(self))
        out["letters"] = [label_to_letter(x) for x in self.labels]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "metadata") -> ModelMetadata:
        """Parse a dictionary written by :meth:`to_dict`, naming the bad field on error."""
        if not isinstance(data, Mapping):
            raise ModelFormatError(f"{source}: expected a JSON object")
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise ModelFormatError(
                f"{source}: format_version {version!r} is not supported "
                f"(this library reads version {FORMAT_VERSION})"
            )
        names = {f.name for f in dataclasses.fields(cls)}
        for required in ("model_type", "backend", "labels"):
            if required not in data:
                raise ModelFormatError(f"{source}: missing field {required!r}")
        if not isinstance(data["model_type"], str) or not data["model_type"]:
            raise ModelFormatError(f"{source}: field 'model_type' must be a non-empty string")
        for field in ("preprocessing", "metrics", "hyperparameters", "files", "extra"):
            if field in data and not isinstance(data[field], Mapping):
                raise ModelFormatError(f"{source}: field {field!r} must be a JSON object")
        try:
            return cls(**{k: v for k, v in data.items() if k in names})
        except (InvalidParameterError, TypeError, ValueError) as exc:
            raise ModelFormatError(f"{source}: {exc}") from exc


class TrainedModel(ABC):
    """A fitted ASL letter classifier, however it was trained.

    Subclasses set :attr:`model_type`, implement :meth:`_predict_proba`, :meth:`_save_files`
    and :meth:`_load`, and are registered with :func:`register_model_type`. Input validation,
    label mapping and atomic saving live here, once.
    """

    model_type: ClassVar[str] = ""

    def __init__(self, *, metadata: ModelMetadata) -> None:
        self.metadata = metadata
        #: directory this model was last saved to or loaded from (None if only in memory)
        self.source_dir: Path | None = None

    # -- prediction -------------------------------------------------------------------------
    @property
    def labels(self) -> tuple[int, ...]:
        """Label id of each column of :meth:`predict_proba`."""
        return self.metadata.labels

    @property
    def letters(self) -> tuple[str, ...]:
        """Letter of each column of :meth:`predict_proba`."""
        return tuple(label_to_letter(x) for x in self.labels)

    def predict_proba(self, images: Any) -> npt.NDArray[np.float32]:
        """Class probabilities, shape (N, len(labels)); rows sum to 1.

        Args:
            images: (N, 28, 28) or (N, 784) pixel values in 0..255 (one image also accepted).
        """
        batch = as_image_batch(images)
        if len(batch) == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return self._checked(self._predict_proba(batch), len(batch), what="probabilities")

    def _checked(self, proba: npt.ArrayLike, n: int, *, what: str) -> npt.NDArray[np.float32]:
        """``proba`` as float32, checked to be ``(n, len(labels))``."""
        out = np.asarray(proba, dtype=np.float32)
        if out.shape != (n, len(self.labels)):
            raise ModelFormatError(
                f"{type(self).__name__} returned {what} of shape {out.shape}, expected {(n, len(self.labels))}"
            )
        return out

    def predict(self, images: Any) -> npt.NDArray[np.int64]:
        """Most probable label id per image, shape (N,)."""
        proba = self.predict_proba(images)
        labels: npt.NDArray[np.int64] = np.asarray(self.labels, dtype=np.int64)[proba.argmax(axis=1)]
        return labels

    def predict_letters(self, images: Any) -> list[str]:
        """Most probable letter per image."""
        return [label_to_letter(int(x)) for x in self.predict(images)]

    @abstractmethod
    def _predict_proba(self, images: npt.NDArray[np.float32]) -> npt.ArrayLike:
        """Probabilities for a validated float32 (N, 28, 28) batch of 0..255 pixels."""

    # -- photos -----------------------------------------------------------------------------
    #: True for a model that reads the photo itself (its hand observation: landmarks, hand
    #: side, crop) rather than only the 28x28 crop :func:`~asl_recognition.images.preprocess_image`
    #: makes of it. Front ends pass such models the photo.
    reads_photos: ClassVar[bool] = False

    def predict_photos_proba(self, photos: Sequence[Any], *, observations: Sequence[Any] | None = None,
                             cache: bool = False) -> npt.NDArray[np.float32]:  # fmt: skip
        """Class probabilities for real photos, shape (N, len(labels)).

        Args:
            photos: paths, encoded bytes (JPEG/PNG) or RGB pixel arrays of any size.
            observations: their :class:`~asl_recognition.photo.HandObservation` s, when already
                made (e.g. shared by the members of an ensemble); ``photos`` is then ignored.
            cache: keep observations of encoded photos in the on-disk cache
                (:func:`~asl_recognition.photo.observe_photos`).
        """
        if observations is None:
            from asl_recognition.photo.observe import observe_photos

            observations = observe_photos(list(photos), cache=cache)
        return self._checked(self.predict_observations_proba(observations), len(observations),
                             what="photo probabilities")  # fmt: skip

    def predict_photos(self, photos: Sequence[Any], *, observations: Sequence[Any] | None = None,
                       cache: bool = False) -> npt.NDArray[np.int64]:  # fmt: skip
        """Most probable label id per photo (see :meth:`predict_photos_proba`)."""
        proba = self.predict_photos_proba(photos, observations=observations, cache=cache)
        labels: npt.NDArray[np.int64] = np.asarray(self.labels, dtype=np.int64)[proba.argmax(axis=1)]
        return labels

    def predict_observations_proba(self, observations: Sequence[Any]) -> npt.ArrayLike:
        """Probabilities for hand observations. A 28x28 model reads each observation's crop (what
        :func:`~asl_recognition.images.preprocess_image` returns for the photo); photo-native
        models override this."""
        if not observations:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return self.predict_proba(np.stack([o.image for o in observations]))

    # -- persistence ------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str], *, overwrite: bool = True) -> Path:
        """Save to directory ``path`` atomically and return it.

        The directory is assembled next to ``path`` and renamed into place only when complete;
        a failure leaves any previous model at ``path`` intact. Besides the weights and
        ``asl_model.json`` it holds an ``MLmodel`` file, so that MLflow loads and serves it
        (``mlflow.pyfunc.load_model(path)``, :mod:`asl_recognition.models.pyfunc`).
        """
        target = Path(path)
        with atomic_directory(target, overwrite=overwrite) as tmp:
            files = dict(self._save_files(tmp))
            for role, name in files.items():
                if not (tmp / name).exists():
                    raise ModelFormatError(f"{type(self).__name__} did not write its {role} file {name!r}")
            meta = dataclasses.replace(self.metadata, files=files, model_type=self.model_type)
            atomic_write_text(tmp / METADATA_FILE, json.dumps(meta.to_dict(), indent=2, sort_keys=True))
            write_mlmodel(tmp, model_type=self.model_type, library_version=__version__, metadata_file=METADATA_FILE)
        self.metadata = meta
        self.source_dir = target.resolve()
        return target

    @abstractmethod
    def _save_files(self, directory: Path) -> Mapping[str, str]:
        """Write the weights into ``directory``; return ``{role: file name}``."""

    @classmethod
    @abstractmethod
    def _load(cls: type[M], directory: Path, metadata: ModelMetadata) -> M:
        """Rebuild the model from ``directory`` (its files are listed in ``metadata.files``)."""

    def size_bytes(self) -> int | None:
        """Size of the saved directory, if this model was loaded from or saved to disk."""
        src = self.source_dir
        return directory_size(src) if src is not None and src.exists() else None

    def __repr__(self) -> str:
        acc = self.metadata.metrics.get("validation_accuracy")
        acc_s = f", validation_accuracy={acc:.4f}" if isinstance(acc, (int, float)) else ""
        return f"{type(self).__name__}(backend={self.metadata.backend!r}{acc_s})"


model_types: Registry[type[TrainedModel]] = Registry(
    "model type", entry_point_group="asl_recognition.model_types"
)
# The built-in flavours, imported on first use; each module registers its class again when
# imported (``@register_model_type``), which replaces the string with the class itself.
model_types.register("sklearn", "asl_recognition.models.sklearn:SklearnModel", extra="dev")
model_types.register("keras", "asl_recognition.models.keras:KerasModel", extra="keras")
model_types.register("onnx", "asl_recognition.models.onnx:OnnxModel", extra="serve")
model_types.register("product", "asl_recognition.models.product:ProductModel")
model_types.register("photo", "asl_recognition.models.photo:PhotoModel")


def register_model_type(name: str) -> Callable[[type[M]], type[M]]:
    """Class decorator registering a :class:`TrainedModel` subclass under ``name``."""

    def decorator(cls: type[M]) -> type[M]:
        model_types.register(name, cls, replace=True)
        return cls

    return decorator


def save_submodel(model: TrainedModel, directory: Path, folder: str, role: str) -> dict[str, str]:
    """Save ``model`` (a member of a composite model) into ``directory / folder``; return the
    ``{role: file}`` entries listing its metadata and weights for the composite's metadata."""
    model.save(directory / folder)
    files = {role: f"{folder}/{METADATA_FILE}"}
    files.update({f"{role}:{r}": f"{folder}/{f}" for r, f in model.metadata.files.items()})
    return files


def read_metadata(path: str | os.PathLike[str]) -> ModelMetadata:
    """Read and validate ``asl_model.json`` of the model directory ``path``."""
    directory = Path(path)
    meta_path = directory / METADATA_FILE
    if not directory.is_dir():
        raise ModelFormatError(f"{directory} is not a model directory (it does not exist)")
    if not meta_path.is_file():
        raise ModelFormatError(f"{directory} is not a model directory: {METADATA_FILE} is missing")
    try:
        data = json.loads(meta_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"{meta_path}: not valid JSON ({exc})") from exc
    meta = ModelMetadata.from_dict(data, source=str(meta_path))
    for role, name in meta.files.items():
        f = directory / name
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise ModelFormatError(f"{meta_path}: file for {role!r} escapes the directory: {name!r}")
        if not f.is_file():
            raise ModelFormatError(f"{directory}: {role} file {name!r} listed in {METADATA_FILE} is missing")
    return meta


#: The ``prefer`` of the :func:`load_model` call in progress: models saved inside a model
#: directory (a photo model's pixel expert, a product's members) are loaded with it too.
_PREFER: contextvars.ContextVar[str | None] = contextvars.ContextVar("asl_load_prefer", default=None)


def load_model(path: str | os.PathLike[str], *, prefer: str | None = None) -> TrainedModel:
    """Load a model saved by any backend from directory ``path``.

    Args:
        path: a directory written by :meth:`TrainedModel.save`.
        prefer: ``"onnx"`` to serve the model's ONNX export through onnxruntime when it has one;
            the models saved inside ``path`` (a photo model's pixel expert, a product's members)
            are loaded with the same preference. None inside such a load: the enclosing call's.

    Raises:
        ModelFormatError: not a model directory, unsupported version, or missing files.
        MissingDependencyError: the model type needs an extra that is not installed (and the
            model has no ONNX export to fall back on).
    """
    directory = Path(path)
    meta = read_metadata(directory)
    prefer = _PREFER.get() if prefer is None else prefer
    wanted = "onnx" if prefer == "onnx" and "onnx" in meta.files else meta.model_type
    try:
        cls = model_types.get(wanted)
    except (MissingDependencyError, NotFoundError):
        if "onnx" not in meta.files or wanted == "onnx":
            raise
        cls = model_types.get("onnx")
    token = _PREFER.set(prefer)
    try:
        model = cls._load(directory, meta)
    finally:
        _PREFER.reset(token)
    model.source_dir = directory.resolve()
    return model
