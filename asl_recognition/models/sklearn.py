"""The ``sklearn`` model flavour: scikit-learn pipelines on raw pixels, saved with skops.

A pipeline starts with one of the feature transformers defined here (:data:`PREPROCESSING`):
``scale`` (pixels / 255, :class:`PixelScaler`), ``per_image`` (subtract each image's mean,
divide by its standard deviation, :class:`PerImageNormalizer`: removes the brightness/contrast
differences between photos), ``hog`` (histograms of oriented gradients, :class:`HogFeatures`:
local edge directions, robust to lighting and to small shifts) or ``landmarks`` (the hand's
pose, :class:`~asl_recognition.photo.pose_features.HandLandmarkFeatures`). The ``sklearn`` and
``automl`` trainers build their pipelines from them; ``benchmarks/bench_sklearn.py`` and
``docs/azure.md`` compare them.

Models are saved with :mod:`skops.io`; loading accepts only an explicit allow-list of types, so a
model file cannot run code it smuggles in (unlike pickle/joblib). Archives written before the
transformers moved here name them by their old module; :func:`load_skops` reads those too.

>>> make_preprocessor("hog").n_features, n_features("scale")
(324, 784)
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, TransformerMixin

from asl_recognition._io import atomic_write_bytes
from asl_recognition._validation import StrOptions, check_param
from asl_recognition.data.arrays import IMAGE_SHAPE, NUM_PIXELS
from asl_recognition.errors import ModelFormatError
from asl_recognition.models.base import ModelMetadata, TrainedModel, register_model_type
from asl_recognition.photo.pose_features import HandLandmarkFeatures
from asl_recognition.registry import import_string

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

__all__ = [
    "PIXEL_PREPROCESSING",
    "PREPROCESSING",
    "HogFeatures",
    "PerImageNormalizer",
    "PixelScaler",
    "SklearnModel",
    "dump_skops",
    "load_skops",
    "make_preprocessor",
    "n_features",
]


class PixelScaler(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Scale 0..255 pixels to 0..1 (stateless)."""

    def fit(self, X: Any, y: Any = None) -> PixelScaler:
        """No-op; returns self."""
        return self

    def transform(self, X: Any) -> npt.NDArray[np.float32]:
        """Return ``X / 255`` as float32."""
        return np.asarray(X, dtype=np.float32) / np.float32(255.0)


class PerImageNormalizer(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Standardise each image on its own: subtract its mean, divide by its standard deviation.

    Flat images (standard deviation 0) become all zeros instead of dividing by zero.
    """

    def fit(self, X: Any, y: Any = None) -> PerImageNormalizer:
        """No-op; returns self."""
        return self

    def transform(self, X: Any) -> npt.NDArray[np.float32]:
        """Per-row standardisation of a (N, 784) array."""
        x = np.asarray(X, dtype=np.float32)
        x = x - x.mean(axis=1, keepdims=True)
        std = x.std(axis=1, keepdims=True)
        out: npt.NDArray[np.float32] = np.divide(x, std, out=np.zeros_like(x), where=std > 1e-6)
        return out


class HogFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Histogram-of-oriented-gradients descriptor of each 28x28 image (scikit-image's ``hog``).

    Each ``pixels_per_cell`` square cell gets a histogram of its gradient directions
    (``orientations`` bins, weighted by gradient magnitude); overlapping blocks of
    ``cells_per_block`` cells are contrast-normalised (L2-Hys). The result describes the hand's
    edges and their directions, independent of brightness and tolerant of small shifts; with the
    defaults it has 324 features (3x3 blocks x 2x2 cells x 9 bins).
    """

    def __init__(self, orientations: int = 9, pixels_per_cell: int = 7, cells_per_block: int = 2) -> None:
        self.orientations = orientations
        self.pixels_per_cell = pixels_per_cell
        self.cells_per_block = cells_per_block

    def fit(self, X: Any, y: Any = None) -> HogFeatures:
        """No-op (the descriptor has no learned state); returns self."""
        return self

    @property
    def n_features(self) -> int:
        """Length of one image's descriptor."""
        cells = IMAGE_SHAPE[0] // self.pixels_per_cell
        blocks = cells - self.cells_per_block + 1
        return blocks * blocks * self.cells_per_block**2 * self.orientations

    def transform(self, X: Any) -> npt.NDArray[np.float32]:
        """Descriptors of a (N, 784) array of 0..255 pixels, shape (N, :attr:`n_features`)."""
        hog = import_string("skimage.feature:hog", extra="images", what="HOG features")
        images = np.asarray(X, dtype=np.float32).reshape(-1, *IMAGE_SHAPE)
        out = np.empty((len(images), self.n_features), dtype=np.float32)
        for i, image in enumerate(images):
            out[i] = hog(
                image,
                orientations=self.orientations,
                pixels_per_cell=(self.pixels_per_cell, self.pixels_per_cell),
                cells_per_block=(self.cells_per_block, self.cells_per_block),
                block_norm="L2-Hys",
                feature_vector=True,
            )
        return out


_PREPROCESSORS: dict[str, type[TransformerMixin]] = {
    "scale": PixelScaler,
    "per_image": PerImageNormalizer,
    "hog": HogFeatures,
    "landmarks": HandLandmarkFeatures,
}
#: the preprocessing steps a pipeline may start with (see :func:`make_preprocessor`)
PREPROCESSING: tuple[str, ...] = tuple(_PREPROCESSORS)
#: the steps computed from the pixels alone, cheap enough for a search to try (``landmarks``
#: runs a neural network per image and needs the hand models)
PIXEL_PREPROCESSING: tuple[str, ...] = ("scale", "per_image", "hog")


def make_preprocessor(name: str) -> TransformerMixin:
    """The first pipeline step for preprocessing ``name`` (one of :data:`PREPROCESSING`).

    Raises:
        InvalidParameterError: ``name`` is not one of :data:`PREPROCESSING`.
    """
    check_param("preprocessing", name, StrOptions(PREPROCESSING))
    return _PREPROCESSORS[name]()


def n_features(preprocessing: str) -> int:
    """Number of features ``preprocessing`` produces from one image (validates the name)."""
    return int(getattr(make_preprocessor(preprocessing), "n_features", NUM_PIXELS))


# Types a saved sklearn model may contain beyond what skops trusts by default.
_OWN_TYPES = frozenset(f"{cls.__module__}.{cls.__name__}" for cls in _PREPROCESSORS.values())
# Modules that defined our transformers in earlier layouts -> where they live now. A skops
# archive names each object's class by module, so older archives are read through this map.
_RENAMED_MODULES: dict[str, str] = {"asl_recognition.trainers._sklearn": __name__}
_SCHEMA = "schema.json"


def _rename_modules(node: Any) -> bool:
    """Rewrite ``__module__`` entries of a skops schema in place; True if any changed."""
    changed = False
    if isinstance(node, dict):
        module = node.get("__module__")
        if isinstance(module, str) and module in _RENAMED_MODULES:
            node["__module__"] = _RENAMED_MODULES[module]
            changed = True
        for value in node.values():
            changed = _rename_modules(value) or changed
    elif isinstance(node, list):
        for value in node:
            changed = _rename_modules(value) or changed
    return changed


def _current_layout(data: bytes) -> bytes:
    """The skops archive ``data`` with the class paths of earlier layouts rewritten to today's."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        schema = json.loads(archive.read(_SCHEMA))
        if not _rename_modules(schema):
            return data
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as rewritten:
            for item in archive.infolist():
                body = json.dumps(schema).encode() if item.filename == _SCHEMA else archive.read(item)
                rewritten.writestr(item, body)
    return out.getvalue()


def dump_skops(obj: Any, path: Path) -> None:
    """Serialise ``obj`` with skops to ``path`` atomically."""
    import skops.io as sio

    atomic_write_bytes(path, sio.dumps(obj))


def load_skops(path: Path, *, extra_trusted: frozenset[str] = frozenset()) -> Any:
    """Load a skops file, trusting only scikit-learn/numpy types and our own transformers.

    Raises:
        ModelFormatError: the file is not skops, or holds a type outside the allow-list.
    """
    import skops.io as sio

    try:
        data = _current_layout(path.read_bytes())
        untrusted = set(sio.get_untrusted_types(data=data))
    except Exception as exc:  # skops raises zipfile/JSON errors for foreign files
        raise ModelFormatError(f"{path}: not a skops model file ({exc})") from exc
    # scikit-learn's own classes (estimators and their Cython helpers such as KDTree) rebuild
    # from plain state; anything else must be on the explicit allow-list.
    refused = sorted(t for t in untrusted - _OWN_TYPES - extra_trusted if not t.startswith("sklearn."))
    if refused:
        raise ModelFormatError(f"{path}: refusing to load untrusted types {refused}")
    try:
        return sio.loads(data, trusted=sorted(untrusted))
    except Exception as exc:
        raise ModelFormatError(f"{path}: could not load skops model ({exc})") from exc


@register_model_type("sklearn")
class SklearnModel(TrainedModel):
    """A fitted scikit-learn pipeline taking (N, 784) raw pixels."""

    model_type = "sklearn"

    def __init__(self, *, pipeline: Pipeline, metadata: ModelMetadata) -> None:
        super().__init__(metadata=metadata)
        classes = tuple(int(c) for c in pipeline.classes_)
        if classes != metadata.labels:
            raise ModelFormatError(
                f"pipeline classes {classes} do not match metadata labels {metadata.labels}"
            )
        self.pipeline = pipeline

    def _predict_proba(self, images: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        proba: npt.NDArray[np.float64] = self.pipeline.predict_proba(images.reshape(len(images), -1))
        return proba

    def _save_files(self, directory: Path) -> Mapping[str, str]:
        dump_skops(self.pipeline, directory / "model.skops")
        return {"weights": "model.skops"}

    @classmethod
    def _load(cls, directory: Path, metadata: ModelMetadata) -> SklearnModel:
        return cls(pipeline=load_skops(metadata.file("weights", directory)), metadata=metadata)
